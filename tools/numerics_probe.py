"""Which operations of the workflow's CPU path give other digits on another processor?

Runs a short piece of every job's real path in one process: for each model family
(LXMERT, VisualBERT, ViLT) a few steps of the embedded pre-training (LXMERT with masked
words, mismatched images and its auxiliary losses; ViLT with augmented images and image
tagging), a fine-tune with torch's AdamW and one with BertAdam, prediction and
validation accuracy, the masks of every granularity (single weights globally and per
tensor, heads and neurons, 2:4, random), a masked retrain that keeps them, and the
smaller network of the heads-and-neurons ticket; besides these, the easy-VQA featuriser
(NumPy) and a report's mean and standard deviation (pandas). Each piece ends in a digest.

It runs that natively and, as other processors, under qemu-user (``qemu-x86_64 -cpu
MODEL``: the same process, with another processor's identity as the libraries see it and
the emulator's own results for instructions whose results are the processor's choice,
such as approximate reciprocals), and compares the digests. With ``--trace`` each run also
records every ATen operation it calls (a ``TorchDispatchMode``) with digests of its
inputs and outputs, and the report names the operations that, given the same inputs,
returned other outputs: the processor-dependent ones.

    python tools/numerics_probe.py                      # native vs EPYC-Rome and Skylake
    python tools/numerics_probe.py --trace --native     # what native numerics would change
    python tools/numerics_probe.py --cpus Haswell-v1 --threads 1 --out probe.json
    python tools/numerics_probe.py --quick              # the suite's: fewer steps

Exit status 0 when every emulated processor gives the native digests, 1 otherwise, 2 when
qemu-user is missing. tests/test_portability.py runs it. Findings: docs/method.md, "The same
digits on every processor".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One emulated AMD and one emulated Intel processor with AVX2 and FMA (qemu 7.2's TCG has
# both, not AVX-512): the portable pins' baseline.
DEFAULT_CPUS = ("EPYC-Rome-v1", "Skylake-Client-v1")
QEMU = "qemu-x86_64"


# --- the child: the workflow's path, digested ------------------------------------------


def digest(value) -> str:
    """A short digest of tensors, arrays, masks, dicts and lists of them, or JSON."""
    import numpy as np
    import torch

    h = hashlib.sha256()

    def feed(v):
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu()
            if v.dtype == torch.bfloat16:
                v = v.view(torch.int16)
            feed(v.contiguous().numpy())
        elif isinstance(v, np.ndarray):
            h.update(f"{v.dtype}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, dict):
            for k in sorted(v):
                h.update(str(k).encode())
                feed(v[k])
        elif isinstance(v, list | tuple):
            for x in v:
                feed(x)
        elif hasattr(v, "tensors"):  # a Mask
            feed(v.tensors)
        else:
            h.update(json.dumps(v, sort_keys=True, default=str).encode())

    feed(value)
    return h.hexdigest()[:16]


class Tracer:
    """Every ATen operation called, with digests of its tensor inputs and outputs."""

    def __init__(self):
        from torch.utils._python_dispatch import TorchDispatchMode

        calls = self.calls = []

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                calls.append((str(func), _tensor_digest((args, kwargs)), _tensor_digest(out)))
                return out

        self.mode = Mode()


def _tensor_digest(tree) -> str:
    """:func:`digest` of an operation's arguments or results, leaf by leaf."""
    from torch.utils._pytree import tree_leaves

    return digest(tree_leaves(tree))[:12]


class _Tokenizer:
    """The special tokens and vocabulary size the pre-training's word masking asks for."""

    cls_token_id, sep_token_id, mask_token_id = 1, 2, 3

    def __len__(self) -> int:
        return VOCAB


VOCAB, ANSWERS = 40, 5
FAMILIES = ("lxmert", "visualbert", "vilt")


def _split(family: str, seed: int, n: int):
    import torch

    from lxmert_lth.data.features import FeatureStore
    from lxmert_lth.data.images import ImageStore
    from lxmert_lth.data.loaders import EncodedSplit

    g = torch.Generator().manual_seed(seed)
    images = 12
    if family == "vilt":
        visual = {"pixel_values": torch.rand(images, 3, 16, 16, generator=g),
                  "image_size": torch.full((images, 2), 16)}  # fmt: skip
        store = ImageStore
    else:
        visual = {"visual_feats": torch.rand(images, 4, 6, generator=g),
                  "visual_pos": torch.rand(images, 4, 4, generator=g)}  # fmt: skip
        store = FeatureStore
    ids = torch.randint(5, VOCAB, (n, 8), generator=g)
    ids[:, 0], ids[:, -1] = _Tokenizer.cls_token_id, _Tokenizer.sep_token_id
    return EncodedSplit(
        question_ids=list(range(n)),
        input_ids=ids,
        attention_mask=torch.ones(n, 8, dtype=torch.long),
        token_type_ids=torch.zeros(n, 8, dtype=torch.long),
        image_rows=torch.randint(0, images, (n,), generator=g),
        label_idx=torch.randint(0, ANSWERS, (n, 2), generator=g),
        label_score=torch.rand(n, 2, generator=g),
        visual=visual,
        store=store,
    )


def family_path(name: str, quick: bool = False) -> dict[str, str]:
    """Pre-training, fine-tuning both ways, evaluation, masks of every granularity, a
    masked retrain and the smaller network, for one family: a digest per piece. ``quick``:
    32 questions and one epoch each (the suite's), else 48 and two."""
    import copy

    import numpy as np
    import torch

    from lxmert_lth.core.masks import Mask
    from lxmert_lth.data.augment import Augment
    from lxmert_lth.data.loaders import image_tags
    from lxmert_lth.models import families
    from lxmert_lth.models.modeling import new_pretraining_model, small_config
    from lxmert_lth.pruning import groups, single_weights, structures
    from lxmert_lth.pruning.enforcement import MaskEnforcer, prunable_parameter_names
    from lxmert_lth.pruning.shrink import kept_indices, shrink
    from lxmert_lth.training import inference, loop, pretraining

    family = families.get(name)
    out = {}
    n, epochs = (32, 1) if quick else (48, 2)
    data, val = _split(name, 0, n), _split(name, 1, n)
    cfg = loop.TrainConfig(epochs=epochs, batch_size=16, lr=1e-3, warmup_ratio=0.1,
                               weight_decay=0.01, clip_norm=1.0, eval_batch_size=32,
                               bias_correction=True)  # fmt: skip
    config = small_config(VOCAB, 6, ANSWERS, {"family": name, **family.tiny_arch})
    model = new_pretraining_model(config, seed=0)
    if name == "lxmert":
        objectives = {"mlm_prob": 0.15, "mlm_fraction": 0.5, "mismatch_fraction": 0.25,
                      "aux_weight": 0.2}  # fmt: skip
    else:
        objectives = dict.fromkeys(("mlm_prob", "mlm_fraction", "mismatch_fraction",
                                    "aux_weight"), 0.0)  # fmt: skip
    extra = {}
    if name == "vilt":
        questions = [{"question_id": i, "answer_type": "other",
                      "answers": [{"answer": str(int(a)), "score": 1.0}]}
                     for i, a in enumerate(data.label_idx[:, 0])]  # fmt: skip
        answers = [str(i) for i in range(ANSWERS)]
        extra = {"augment": Augment(shift=2, flip=True), "tag_weight": 1.0,
                 "tags": image_tags(_with_answers(questions, answers), data, ANSWERS)}  # fmt: skip
    history = pretraining.pretrain(model, data, _Tokenizer(), cfg, 0, val=val, progress=False,
                       **objectives, **extra)  # fmt: skip
    out["pretrain"] = digest([dict(model.state_dict()), history])

    for optimizer, bias_correction in (("adamw", True), ("bert_adam", False)):
        torch.manual_seed(1)
        qa = family.qa_class()(config)
        recipe = loop.TrainConfig(**{**vars(cfg), "bias_correction": bias_correction})
        history = loop.train_qa(qa, data, val, recipe, seed=1, progress=False)
        preds = inference.predict_indices(qa, val, 32)
        out[f"finetune {optimizer}"] = digest([dict(qa.state_dict()), history])
        out[f"evaluate {optimizer}"] = digest([preds, inference.soft_accuracy(qa, val, 32)])

    params = {n: p.detach().numpy() for n, p in qa.named_parameters()}
    prunable = prunable_parameter_names(qa, family.prunable_modules)
    shapes = {n: params[n].shape for n in prunable}
    weights = {n: params[n] for n in prunable}
    full = Mask({n: np.ones(s, dtype=bool) for n, s in shapes.items()})
    found = {
        "global": single_weights.prune_lowest_magnitude(weights, full, 50, "global"),
        "per_tensor": single_weights.prune_lowest_magnitude(weights, full, 50, "per_tensor"),
        "heads_neurons": structures.heads_neurons_mask(
            weights, shapes, family, config.num_attention_heads, 50
        ),
        "2:4": groups.n_of_m_mask(weights, shapes, 2, 4),
        "random": single_weights.random_mask(shapes, full.num_prunable // 2, seed=0),
    }
    for kind, mask in found.items():
        out[f"mask {kind}"] = digest(mask)
    ticket = copy.deepcopy(qa)
    enforcer = MaskEnforcer(ticket, found["global"])
    history = loop.train_qa(ticket, data, val, cfg, seed=2, enforcer=enforcer, progress=False)
    out["retrain masked"] = digest([dict(ticket.state_dict()), history])
    smaller = copy.deepcopy(qa)
    shrink(smaller, kept_indices(smaller, found["heads_neurons"]))
    out["smaller network"] = digest(
        [dict(smaller.state_dict()), inference.predict_indices(smaller, val, 32)]
    )
    return out


def _with_answers(questions, answers):
    """Questions whose answers name the answer list (image_tags reads them so)."""
    return [{**q, "answers": [{**a, "answer": answers[int(a["answer"])]} for a in q["answers"]]}
            for q in questions]  # fmt: skip


def data_and_reports() -> dict[str, str]:
    """The featuriser (NumPy) on synthetic easy-VQA-like images, and a report's statistics."""
    import numpy as np
    import pandas as pd

    from lxmert_lth.data.easyvqa import featurise_image

    rng = np.random.default_rng(0)
    feats = []
    for i in range(8):
        image = np.full((64, 64, 3), 230 + i, dtype=np.uint8)
        x, y, r = rng.integers(12, 40, 3)
        image[y : y + r // 2 + 8, x : x + r // 2 + 8] = rng.integers(0, 255, 3)
        feats.append(featurise_image(image))
    scores = pd.DataFrame({"seed": [0, 1, 2] * 4, "kind": ["low", "high", "random", "dense"] * 3,
                           "overall": rng.uniform(30, 100, 12)})  # fmt: skip
    stats = scores.groupby("kind").overall.agg(["mean", "std"])
    return {"features": digest(feats), "report statistics": digest(stats.to_numpy())}


def child(args) -> None:
    from lxmert_lth.runtime.numerics import pin_before_torch, processor

    pin_before_torch("native" if args.native else "portable", deterministic=True)
    import torch

    torch.set_num_threads(args.threads)
    tracer = Tracer() if args.trace else None
    start = time.perf_counter()
    digests = data_and_reports()
    for name in args.families:
        if tracer:
            with tracer.mode:
                pieces = family_path(name, args.quick)
        else:
            pieces = family_path(name, args.quick)
        digests |= {f"{name}: {k}": v for k, v in pieces.items()}
    doc = {"processor": processor(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "seconds": round(time.perf_counter() - start, 1), "digests": digests,
           "trace": tracer.calls if tracer else None}  # fmt: skip
    Path(args.child).write_text(json.dumps(doc))


# --- the driver ---------------------------------------------------------------------


def run_all(cpus, threads, native, trace, quick, families, workdir: Path) -> dict:
    """The child natively and under each emulated processor, in parallel."""
    procs = {}
    for cpu in ("native", *cpus):
        out = workdir / f"{cpu}.json"
        cmd = [sys.executable, __file__, "--child", str(out), "--threads", str(threads),
               "--families", *families]  # fmt: skip
        cmd += ["--native"] * native + ["--trace"] * trace + ["--quick"] * quick
        if cpu != "native":
            cmd = [QEMU, "-cpu", cpu, *cmd]
        procs[cpu] = (subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True), out)
    results = {}
    for cpu, (proc, out) in procs.items():
        _, err = proc.communicate()
        if proc.returncode != 0:
            lines = [line for line in err.splitlines() if "TCG doesn't support" not in line]
            raise SystemExit(f"the run as {cpu} failed:\n" + "\n".join(lines[-20:]))
        results[cpu] = json.loads(out.read_text())
    return results


# Operations whose outputs are uninitialised memory or handles, not results.
UNDEFINED = ("aten.empty", "aten.new_empty", "aten.empty_like", "aten.empty_strided",
             "profiler.")  # fmt: skip


def guilty_operations(native: list, other: list) -> Counter:
    """Operations called on the same inputs as natively that returned other outputs, by
    name (the runs call the same operations in the same order until one differs in a way
    that changes control flow; the comparison stops there)."""
    found = Counter()
    for (op, inputs, outputs), (op2, inputs2, outputs2) in zip(native, other, strict=False):
        if op != op2:
            break
        if inputs == inputs2 and outputs != outputs2 and not op.startswith(UNDEFINED):
            found[op] += 1
    return found


def report(results: dict) -> list[str]:
    """Lines saying which pieces and operations differ from the native run."""
    native = results["native"]
    lines = [f"native: {native['processor']} ({native['cpu_capability']}), "
             f"{native['seconds']} s"]  # fmt: skip
    for cpu, doc in results.items():
        if cpu == "native":
            continue
        differ = [k for k, v in native["digests"].items() if doc["digests"].get(k) != v]
        lines.append(f"{cpu} ({doc['cpu_capability']}, {doc['seconds']} s emulated): "
                     f"{len(differ)} of {len(native['digests'])} pieces differ")  # fmt: skip
        lines += [f"  {k}" for k in differ]
        if native.get("trace") is not None:
            ops = guilty_operations(native["trace"], doc["trace"])
            lines.append(f"  {len(native['trace'])} operations traced; "
                         f"{len(ops)} kinds gave other outputs on the same inputs")  # fmt: skip
            lines += [f"    {op}: {n} calls" for op, n in ops.most_common()]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpus", nargs="+", default=list(DEFAULT_CPUS),
                    help="qemu CPU models to emulate (qemu-x86_64 -cpu help)")  # fmt: skip
    ap.add_argument("--threads", type=int, default=2, help="torch threads (a job's)")
    ap.add_argument("--native", action="store_true", help="native numerics, not portable")
    ap.add_argument("--trace", action="store_true", help="find the operations that differ")
    ap.add_argument("--quick", action="store_true", help="fewer questions and steps")
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    ap.add_argument("--out", help="write every run's digests (and traces) here, as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if shutil.which(QEMU) is None:
        print(f"{QEMU} not found: install Debian's qemu-user (apt-get install qemu-user)")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        results = run_all(args.cpus, args.threads, args.native, args.trace, args.quick,
                          args.families, Path(tmp))  # fmt: skip
    lines = report(results)
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    same = all(r["digests"] == results["native"]["digests"] for r in results.values())
    return 0 if same else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
