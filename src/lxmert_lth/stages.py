"""One function per workflow stage: paths and parameters in, files out.

The scripts in ``workflow_scripts/`` only unpack Snakemake's ``input``/``output``/
``params`` and call these through :func:`run_stage`, which sends the job's logging and
progress bars to its log file and sets its thread count.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from .io import InputError, atomic_path, load_tensors, read_json, write_json

log = logging.getLogger("lxmert_lth")


def run_stage(snakemake, fn: Callable[..., None], **kwargs) -> None:
    """Run ``fn(**kwargs)`` with logging and stderr going to the job's log file."""
    log_path = Path(snakemake.log[0]) if snakemake.log else None
    stream = open(log_path, "w") if log_path else sys.stderr  # noqa: SIM115
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Thread count for torch (read when torch is first imported, inside the stage).
    threads = str(max(1, int(snakemake.threads)))
    os.environ.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    claim = None
    try:
        with contextlib.redirect_stderr(stream):
            log.info("rule %s, wildcards %s", snakemake.rule, dict(snakemake.wildcards))
            claim = _claim_gpu(snakemake)
            fn(**kwargs)
    except Exception as err:
        log.error("%s: %s", type(err).__name__, err)
        raise
    finally:
        if claim is not None:
            claim.release()
        root.removeHandler(handler)
        if log_path:
            stream.close()


def _claim_gpu(snakemake):
    """A job that declares ``resources: gpu`` claims one device of the visible pool
    (``lxmert_lth.devices``), unless the configuration pins an explicit ``cuda:N``."""
    from .devices import claim_device

    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    device = snakemake.params.get("device", "auto") if snakemake.params else "auto"
    if gpus < 1 or device not in ("auto", "cuda"):
        log.info("device: %s (no device claimed)", device)
        return None
    claim = claim_device()
    log.info("device claimed: %s (pool: %s)", claim.device, ",".join(claim.pool) or "none")
    return claim


# --- data ---------------------------------------------------------------------------


def prepare_easy_vqa(out: Mapping[str, str], dataset: Mapping) -> None:
    """Write train/val/test/pretrain question files and the answer vocabulary."""
    from .questions import build_answer_vocab, easy_vqa_splits

    splits = easy_vqa_splits(
        dataset["val_fraction"], dataset["split_seed"], dataset.get("max_questions")
    )
    answers = build_answer_vocab(splits["train"], dataset.get("min_answer_count", 1))
    _write_splits(out, splits, answers)


def _write_splits(out: Mapping[str, str], splits: Mapping[str, list], answers: list) -> None:
    for name, records in splits.items():
        log.info(
            "%s: %d questions on %d images",
            name,
            len(records),
            len({q["image_id"] for q in records}),
        )
        write_json(out[name], records)
    write_json(out["answers"], {"answers": answers})
    log.info("%d answers", len(answers))


def prepare_vqa_v2(out: Mapping[str, str], dataset: Mapping) -> None:
    """VQA v2 (official or LXMERT files) -> train/val/test question files and answers."""
    from .questions import subsample
    from .vqa_v2 import check_labelled, lxmert_splits, official_splits

    if dataset["format"] == "official":
        spec = dataset["official"]
        splits, answers = official_splits(
            spec, spec.get("min_answer_count", 9), spec.get("minival_images", 5000)
        )
    else:
        splits, answers = lxmert_splits(dataset["lxmert"])
    limits = dataset.get("max_questions") or {}
    seed = dataset.get("split_seed", 0)
    splits = {name: subsample(records, limits.get(name), seed) for name, records in splits.items()}
    for name in ("train", "val"):
        check_labelled(splits[name], f"{name} split")
    _write_splits(out, splits, answers)


def convert_butd_features(tsvs: list[str], out_h5: str, dtype: str, num_boxes: int) -> None:
    from .butd import convert_tsvs

    convert_tsvs(tsvs, out_h5, num_boxes, dtype)


def extract_easy_vqa_features(out_h5: str, dtype: str) -> None:
    import numpy as np
    from PIL import Image
    from tqdm import tqdm

    from .features import FEATURE_DIM, NUM_REGIONS, FeatureWriter, featurise_image
    from .questions import easy_vqa_images

    images = easy_vqa_images()
    with FeatureWriter(
        out_h5, len(images), NUM_REGIONS, FEATURE_DIM, "easy-vqa shape featuriser v1", dtype
    ) as writer:
        for image_id, path in tqdm(images.items(), desc="features", mininterval=2):
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"))
            feats, boxes = featurise_image(pixels)
            writer.add(image_id, feats, boxes, pixels.shape[0], pixels.shape[1])
    log.info("%d images, %d regions x %d features", len(images), NUM_REGIONS, FEATURE_DIM)


def make_tokenizer(questions: str, out_dir: str, vocab_size: int) -> None:
    from .modeling import build_tokenizer
    from .questions import load_questions

    build_tokenizer([q["question"] for q in load_questions(questions)], out_dir, vocab_size)


# --- models -------------------------------------------------------------------------


def _encode(questions_path, tokenizer, answers, store, max_length, device, loading=None):
    """Questions and their encoded split; ``loading`` = {in_memory, loader_workers}."""
    from .data import encode_split
    from .questions import load_questions

    loading = loading or {}
    questions = load_questions(questions_path)
    split = encode_split(
        questions,
        tokenizer,
        answers,
        store,
        max_length,
        str(questions_path),
        in_memory=loading.get("in_memory", True),
        loader_workers=loading.get("loader_workers", 0),
    )
    return questions, split.to(device)


def run_pretraining(
    inp: Mapping[str, str],
    out_dir: str,
    model_cfg: Mapping,
    recipe: Mapping,
    max_length: int,
    device: str,
) -> None:
    from .features import FeatureStore
    from .modeling import PRETRAINED_ANSWERS, load_tokenizer, new_pretraining_model, small_config
    from .questions import load_answers
    from .training import TrainConfig, choose_device, pretrain

    dev = choose_device(device)
    tokenizer = load_tokenizer(inp["tokenizer"])
    answers = load_answers(inp["answers"])
    store = FeatureStore(inp["features"])
    _, data = _encode(inp["train"], tokenizer, answers, store, max_length, dev)
    _, val = _encode(inp["val"], tokenizer, answers, store, max_length, dev)
    config = small_config(len(tokenizer), store.feature_dim, len(answers), model_cfg)
    model = new_pretraining_model(config, recipe["seed"]).to(dev)
    history = pretrain(
        model,
        data,
        tokenizer,
        TrainConfig.from_dict(recipe),
        recipe["seed"],
        mlm_prob=recipe.get("mlm_probability", 0.15),
        mlm_fraction=recipe.get("mlm_fraction", 0.5),
        mismatch_fraction=recipe.get("mismatch_fraction", 0.5),
        aux_weight=recipe.get("aux_weight", 1.0),
        val=val,
    )
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(Path(tmp) / "pretraining_history.json", history)
        write_json(Path(tmp) / PRETRAINED_ANSWERS, list(answers))


def import_pretrained_model(
    out_dir: str,
    source: str,
    tokenizer: str | None,
    config: str | None,
    answers: str | None,
) -> None:
    """The user's pretrained LXMERT (hub id, directory or model_LXRT.pth) as a directory."""
    from .modeling import import_pretrained

    import_pretrained(source, out_dir, tokenizer, config, answers)


def make_theta0(
    pretrained: str,
    answers_path: str,
    out: str,
    seed: int,
    prunable_modules: str,
    answer_head: str = "random",
) -> None:
    from .enforcement import prunable_parameter_names
    from .modeling import save_checkpoint, theta0_from_pretrained
    from .questions import load_answers

    answers = load_answers(answers_path)
    model = theta0_from_pretrained(pretrained, answers, seed, answer_head)
    prunable = prunable_parameter_names(model, prunable_modules)
    n_prunable = sum(model.get_parameter(n).numel() for n in prunable)
    n_total = sum(p.numel() for p in model.parameters())
    log.info(
        "theta_0: %d parameters, %d prunable in %d tensors", n_total, n_prunable, len(prunable)
    )
    save_checkpoint(
        out,
        model,
        answers,
        seed=seed,
        prunable=prunable,
        num_total_parameters=n_total,
        answer_head=answer_head,
    )


def _check_answers(checkpoint: str, head: list[str], answers_path: str) -> None:
    """The checkpoint's answer head must be the data's vocabulary, index for index."""
    from .questions import load_answers

    answers = load_answers(answers_path)
    if head == answers:
        return
    if len(head) != len(answers):
        raise InputError(
            f"{checkpoint}: its answer head has {len(head)} answers, but {answers_path} has "
            f"{len(answers)}"
        )
    i = next(k for k, (a, b) in enumerate(zip(head, answers, strict=True)) if a != b)
    raise InputError(
        f"{checkpoint}: answer {i} of its head is {head[i]!r}, but {answers[i]!r} in {answers_path}"
    )


def finetune(
    inp: Mapping[str, str],
    out: Mapping[str, str],
    recipe: Mapping,
    max_length: int,
    seed: int,
    device: str,
    network: Mapping,
    score_split: str = "test",
    loading: Mapping | None = None,
    precision: str = "fp32",
    tf32: bool = False,
    scratch: str | None = None,
    checkpoint_every: int = 0,
) -> None:
    """Fine-tune a checkpoint (theta_0 or a rewound subnetwork, with its mask enforced),
    select the best epoch on validation, predict the test split (an EvalAI submission
    file for VQA v2) and score the labelled ``score_split`` (test, or val = minival).

    With ``scratch``, resumable state goes there (every ``checkpoint_every`` steps and at
    epoch ends), a rerun after a kill resumes from it, and it is removed at the end."""
    from .enforcement import MaskEnforcer
    from .evalai import write_submission
    from .features import FeatureStore
    from .masks import Mask
    from .modeling import load_checkpoint, load_tokenizer, save_checkpoint
    from .resume import Resume, fingerprint
    from .training import (
        TrainConfig,
        autocast,
        choose_device,
        configure_cuda,
        predict_indices,
        train_qa,
    )
    from .vqa_eval import score_predictions

    dev = choose_device(device)
    log.info("device %s", dev)
    precision = configure_cuda(dev, precision, tf32)
    model, answers, meta = load_checkpoint(inp["checkpoint"])
    if inp.get("answers"):
        _check_answers(inp["checkpoint"], answers, inp["answers"])
    model.to(dev)
    tokenizer = load_tokenizer(inp["tokenizer"])
    store = FeatureStore(inp["features"])
    encoded = {
        name: _encode(inp[name], tokenizer, answers, store, max_length, dev, loading)
        for name in ("train", "val", "test")
    }
    prunable = meta.get("prunable", [])
    enforcer = None
    mask_meta = {
        "num_pruned": 0,
        "num_prunable": sum(model.get_parameter(n).numel() for n in prunable),
    }
    if inp.get("mask"):
        mask, mask_meta = Mask.load(inp["mask"])
        enforcer = MaskEnforcer(model, mask)
        log.info(
            "mask: %d of %d prunable weights pruned (%.2f%%)",
            mask.num_pruned,
            mask.num_prunable,
            mask.sparsity,
        )
    cfg = TrainConfig.from_dict(recipe)
    resume = None
    if scratch:
        key = fingerprint({**recipe, "precision": precision}, seed, inp.values())
        resume = Resume(scratch, key, checkpoint_every)
    history = train_qa(
        model,
        encoded["train"][1],
        encoded["val"][1],
        cfg,
        seed,
        enforcer,
        precision=precision,
        resume=resume,
    )

    def predict(name):
        split = encoded[name][1]
        with autocast(dev, precision):
            pred = predict_indices(model, split, cfg.eval_batch_size).tolist()
        return {q: answers[i] for q, i in zip(split.question_ids, pred, strict=True)}

    predictions = predict("test")
    scored = predictions if score_split == "test" else predict(score_split)
    scores = score_predictions(scored, encoded[score_split][0])
    log.info("%s accuracy %s", score_split, scores)
    info = {
        **network,
        "seed": seed,
        "split": score_split,
        "best_epoch": history["best_epoch"],
        "val_accuracy": history["best_val_accuracy"],
        "num_pruned": mask_meta["num_pruned"],
        "num_prunable": mask_meta["num_prunable"],
    }
    write_submission(
        out["predictions"], predictions, [q["question_id"] for q in encoded["test"][0]]
    )
    save_checkpoint(
        out["model"],
        model,
        answers,
        seed=seed,
        prunable=prunable,
        num_total_parameters=meta.get("num_total_parameters"),
        **network,
    )
    write_json(out["history"], history)
    write_json(out["scores"], {**info, **scores})
    if resume:
        resume.clear()


# --- masks --------------------------------------------------------------------------


def _theta0(path: str) -> tuple[dict, dict]:
    state, meta = load_tensors(path, framework="np")
    if "prunable" not in meta:
        raise InputError(f"{path}: no 'prunable' list in the checkpoint metadata")
    return state, meta


def _save_mask(mask, theta_meta: Mapping, out: str, **meta) -> None:
    log.info(
        "%s: %d of %d prunable weights pruned (%.2f%%)",
        meta.get("kind"),
        mask.num_pruned,
        mask.num_prunable,
        mask.sparsity,
    )
    mask.save(out, **mask.metadata(theta_meta["num_total_parameters"], **meta))


def rewind_subnetwork(theta0: str, mask_path: str, out: str) -> None:
    """theta_0 with the mask's pruned weights zeroed, as a checkpoint with theta_0's metadata."""
    from .io import save_tensors
    from .masks import Mask, rewind

    state, meta = _theta0(theta0)
    mask, mask_meta = Mask.load(mask_path)
    save_tensors(out, rewind(state, mask), {**meta, "mask": mask_meta})
    log.info(
        "rewound to theta_0: %d of %d prunable weights pruned", mask.num_pruned, mask.num_prunable
    )


def low_magnitude_subnetwork(
    theta0: str,
    trained: str,
    previous_mask: str | None,
    out: str,
    sparsity: int,
    ranking: str,
) -> None:
    """IMP level: prune the trained network's lowest-magnitude surviving weights."""
    from .masks import Mask, prune_lowest_magnitude

    base = _theta0(theta0)
    weights, _ = load_tensors(trained, framework="np")
    if previous_mask:
        mask, _ = Mask.load(previous_mask)
    else:
        mask = Mask.ones_like({n: base[0][n] for n in base[1]["prunable"]})
    new = prune_lowest_magnitude(weights, mask, sparsity, ranking)
    _save_mask(new, base[1], out, kind="low", ranking=ranking, trained=str(trained))


def high_magnitude_subnetwork(low_mask: str, out: str) -> None:
    """The exact complement of a low-magnitude mask within the prunable set."""
    from .masks import Mask

    low, low_meta = Mask.load(low_mask)
    _save_mask(low.complement(), low_meta, out, kind="high", complement_of=str(low_mask))


def random_subnetwork(
    theta0: str, reference: str | None, out: str, sparsity: int, seed: int
) -> None:
    """Random mask pruning as many weights as the low-magnitude mask at ``sparsity``:
    the same total anywhere (global), or, given the ``reference`` low-magnitude mask,
    the same number in each tensor (per layer)."""
    import numpy as np

    from .masks import Mask, num_to_prune, random_mask

    base = _theta0(theta0)
    shapes = {n: base[0][n].shape for n in base[1]["prunable"]}
    if reference:
        counts, mode = Mask.load(reference)[0].per_tensor_pruned(), "per_layer"
    else:
        counts, mode = (
            num_to_prune(sum(int(np.prod(s)) for s in shapes.values()), sparsity),
            "global",
        )
    mask = random_mask(shapes, counts, seed=seed * 1000 + sparsity)
    _save_mask(mask, base[1], out, kind="random", mode=mode)


# --- aggregates ---------------------------------------------------------------------


def collect_scores(score_files: list[str], out_csv: str) -> None:
    import pandas as pd

    rows = [read_json(p) for p in score_files]
    frame = pd.DataFrame(rows).sort_values(["kind", "sparsity", "seed"])
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)
    log.info("%d scores", len(frame))


def _server_results(files: Mapping[str, str]):
    """EvalAI results, one file per network and seed ('seed0/low50' -> path), as rows."""
    import pandas as pd

    from .evalai import read_result
    from .report import SERVER_COLUMNS

    rows = []
    for key, path in files.items():
        seed, network = key.split("/")
        kind = network.rstrip("0123456789")
        sparsity = int(network[len(kind) :] or 0)
        for phase, metrics in read_result(path).items():
            rows.append(
                {
                    "kind": kind,
                    "sparsity": sparsity,
                    "seed": int(seed[4:]),
                    "phase": phase,
                    **metrics,
                }
            )
    return pd.DataFrame(rows, columns=SERVER_COLUMNS)


def make_table1(
    scores_csv: str,
    out_csv: str,
    out_md: str,
    sparsity: int,
    kinds: list[str],
    dataset: str,
    split: str,
    server_files: Mapping[str, str] | None = None,
) -> None:
    """Table 1: test-dev/test-std columns from EvalAI results when the user has dropped
    them in; otherwise the local ``split`` per answer type, as the caption says."""
    import pandas as pd

    from .report import server_table, table1, write_table

    scores = pd.read_csv(scores_csv)
    seeds = sorted(scores.seed.unique().tolist())
    if server_files:
        table = server_table(_server_results(server_files), sparsity, kinds)
        caption = (
            f"Table 1 ({dataset}, EvalAI test-dev and test-std): VQA accuracy (%) of the dense "
            f"network and of {sparsity}%-sparse subnetworks rewound to theta_0 and retrained; "
            f"mean ± sample std over the seeds with a result file ({len(server_files)} files)."
        )
    else:
        table = table1(scores, sparsity, kinds)
        caption = (
            f"Table 1 ({dataset}, {split} split): VQA accuracy (%) of the dense network and of "
            f"{sparsity}%-sparse subnetworks rewound to theta_0 and retrained; mean ± sample "
            f"std over seeds {seeds}. A dash: the split has no question of that type."
        )
        if dataset == "vqa_v2":
            caption += (
                " These are local minival scores: no EvalAI result files were found, so the "
                "test-dev/test-std columns of the paper are not shown."
            )
    write_table(table, out_csv, out_md, caption)


def make_comparison(
    scores_csv: str,
    out_csv: str,
    out_md: str,
    kinds: list[str],
    split: str,
    server_files: Mapping[str, str] | None = None,
) -> None:
    """Reproduced vs the paper's numbers (Table 1 and the authors' minival report)."""
    import pandas as pd

    from .report import SERVER_COLUMNS, comparison, write_comparison

    scores = pd.read_csv(scores_csv)
    server = _server_results(server_files) if server_files else pd.DataFrame(columns=SERVER_COLUMNS)
    table = comparison(scores, server, kinds, split)
    caption = (
        "Reproduced vs published: test-dev/test-std against the paper's Table 1 (50% "
        "sparsity; a dash where no EvalAI result file was given), and the local "
        f"{split} overall accuracy against the authors' per-sparsity minival report. "
        "Reproduced: mean ± sample std over seeds."
    )
    write_comparison(table, out_csv, out_md, caption)


def make_figure1(
    scores_csv: str, png: str, pdf: str, kinds: list[str], dataset: str, split: str
) -> None:
    import pandas as pd

    from .report import figure1

    scores = pd.read_csv(scores_csv)
    figure1(
        scores,
        kinds,
        png,
        pdf,
        f"Figure 1 ({dataset}, {split}): accuracy vs. sparsity, mean ± std over seeds",
    )
