"""Training-loop overhead, measured in one run (prints ratios; no timed assertions).

1. samples/s of the real training loop (``train_qa``: batching, scheduler, clipping,
   loss check, progress bar, validation) against a pure forward-backward-step loop of the
   same model on the same batches, prepared in memory beforehand. Target: >= 0.85.
2. step time of masked training (``MaskEnforcer`` at 50 % sparsity) against unmasked
   training. Target: <= 1.10.

    python bench/bench_training.py [--questions 4096] [--threads 1] [--repeats 3]

The model is config.yaml's; the data are random tensors of the embedded default's shapes.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
import yaml
from snakemake.utils import validate

from lxmert_lth.data.easyvqa import FEATURE_DIM, NUM_REGIONS
from lxmert_lth.data.features import FeatureStore
from lxmert_lth.data.loaders import EncodedSplit, batches
from lxmert_lth.models import families
from lxmert_lth.models.losses import qa_loss
from lxmert_lth.models.modeling import small_config
from lxmert_lth.pruning.enforcement import MaskEnforcer, prunable_parameter_names
from lxmert_lth.pruning.single_weights import random_mask
from lxmert_lth.training.inference import answer_logits
from lxmert_lth.training.loop import TrainConfig, train_qa
from lxmert_lth.workflow.checks import prunable_pattern

ROOT = Path(__file__).resolve().parent.parent


def synthetic_split(n: int, answers: int, seq: int = 12, images: int = 512) -> EncodedSplit:
    g = torch.Generator().manual_seed(0)
    return EncodedSplit(
        question_ids=list(range(n)),
        input_ids=torch.randint(5, 200, (n, seq), generator=g),
        attention_mask=torch.ones(n, seq, dtype=torch.long),
        token_type_ids=torch.zeros(n, seq, dtype=torch.long),
        image_rows=torch.randint(0, images, (n,), generator=g),
        label_idx=torch.randint(0, answers, (n, 1), generator=g),
        label_score=torch.ones(n, 1),
        visual={
            "visual_feats": torch.rand(images, NUM_REGIONS, FEATURE_DIM, generator=g),
            "visual_pos": torch.rand(images, NUM_REGIONS, 4, generator=g),
        },
        store=FeatureStore,  # in memory: only its gather
    )


def pure_loop(model, prepared, cfg: TrainConfig) -> float:
    """Forward, loss, backward, optimizer step: nothing else."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    start = time.perf_counter()
    for inputs, batch in prepared:
        loss = qa_loss(answer_logits(model, inputs), batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def real_loop(model, train, val, cfg, enforcer=None) -> float:
    start = time.perf_counter()
    train_qa(model, train, val, cfg, seed=0, enforcer=enforcer, progress=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, str(ROOT / "schemas" / "config.schema.yaml"))  # fills the defaults
    answers = 13
    cfg = TrainConfig.from_dict({**config["finetune"], "epochs": 1})
    train = synthetic_split(args.questions, answers)
    val = synthetic_split(64, answers)
    torch.manual_seed(0)
    family = families.get(config["model"].get("family"))
    base = family.qa_class()(small_config(200, FEATURE_DIM, answers, config["model"]))
    names = prunable_parameter_names(base, prunable_pattern(config))
    params = dict(base.named_parameters())
    shapes = {n: tuple(params[n].shape) for n in names}
    mask = random_mask(shapes, sum(params[n].numel() for n in names) // 2, seed=0)
    generator = torch.Generator().manual_seed(0)
    prepared = [(b, b) for b in batches(train, cfg.batch_size, generator)]

    def masked_run():
        model = copy.deepcopy(base)
        return real_loop(model, train, val, cfg, MaskEnforcer(model, mask))

    runs = {
        "pure": lambda: pure_loop(copy.deepcopy(base), prepared, cfg),
        "real": lambda: real_loop(copy.deepcopy(base), train, val, cfg),
        "masked": masked_run,
    }
    # One untimed round first (allocator, thread pool and kernel warm-up), then the best of
    # ``repeats`` rounds, the three loops interleaved so that drift hits them alike.
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.repeats):
        for name, run in runs.items():
            best[name] = min(best[name], run())
    n = args.questions
    print(f"questions {n}, batch {cfg.batch_size}, threads {args.threads}, best of {args.repeats}")
    for k, t in best.items():
        print(f"  {k:7s} {t:7.3f} s  {n / t:8.1f} samples/s")
    print(f"real / pure throughput      {best['pure'] / best['real']:.3f}  (target >= 0.85)")
    print(f"masked / unmasked step time {best['masked'] / best['real']:.3f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
