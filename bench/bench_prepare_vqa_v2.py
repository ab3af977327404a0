"""Data preparation at VQA v2's real size: peak memory against the job's request.

    python bench/bench_prepare_vqa_v2.py [--workdir DIR] [--scale 1.0]

Writes the five official VQA v2 JSON files at their real counts (train2014: 443,757
questions on 82,783 images, val2014: 214,354 on 40,504, test2015: 447,793 on 81,434; ten
answers per annotated question, drawn from a Zipf law over 20,000 strings so that the
"seen at least 9 times" vocabulary has a realistic size), with synthetic text, then runs
the ``prepare_vqa_v2`` stage (official format, LXMERT's splits, no caps) in a fresh process
and prints its wall time, peak memory, the memory ``lxmert_lth.workflow.resources`` asks for from
the input sizes, and the bytes written.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COUNTS = {  # subtype: (questions, images)
    "train2014": (443_757, 82_783),
    "val2014": (214_354, 40_504),
    "test2015": (447_793, 81_434),
}
WORDS = "what color is the shape how many people are there is this a kind of on table".split()


def write_official(folder: Path, scale: float) -> dict[str, str]:
    rng = np.random.default_rng(0)
    answers = [f"answer {i}" for i in range(20_000)]
    paths, qid = {}, 0
    for subtype, (n_questions, n_images) in COUNTS.items():
        n, images = int(n_questions * scale), max(1, int(n_images * scale))
        image_ids = np.sort(rng.choice(10**6, images, replace=False))[rng.integers(0, images, n)]
        lengths = rng.integers(4, 12, n)
        questions = [
            {"image_id": int(image_ids[i]), "question_id": qid + i,
             "question": " ".join(rng.choice(WORDS, lengths[i])) + "?"}
            for i in range(n)
        ]  # fmt: skip
        qid += n
        key = subtype[:-4].replace("2015", "")
        doc = {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "license": {},
               "data_subtype": subtype, "questions": questions}  # fmt: skip
        paths[f"{key}_questions"] = str(folder / f"v2_OpenEnded_mscoco_{subtype}_questions.json")
        Path(paths[f"{key}_questions"]).write_text(json.dumps(doc))
        if subtype == "test2015":
            continue
        drawn = np.minimum(rng.zipf(1.3, (n, 10)), len(answers)) - 1
        kinds = rng.choice(["yes/no", "number", "other"], n)
        annotations = [
            {"question_id": q["question_id"], "image_id": q["image_id"],
             "question_type": "what", "answer_type": str(kinds[i]),
             "multiple_choice_answer": answers[drawn[i, 0]],
             "answers": [{"answer": answers[a], "answer_confidence": "yes", "answer_id": j + 1}
                         for j, a in enumerate(drawn[i])]}
            for i, q in enumerate(questions)
        ]  # fmt: skip
        paths[f"{key}_annotations"] = str(folder / f"v2_mscoco_{subtype}_annotations.json")
        doc = {"info": {}, "license": {}, "data_subtype": subtype, "annotations": annotations}
        Path(paths[f"{key}_annotations"]).write_text(json.dumps(doc))
    return paths


def child(spec: dict) -> dict:
    from lxmert_lth.workflow.stages.data import prepare_vqa_v2

    start = time.perf_counter()
    prepare_vqa_v2(spec["outputs"], spec["dataset"])
    return {
        "seconds": time.perf_counter() - start,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    from lxmert_lth.workflow.resources import questions_job_mem_mb

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-lth-vqa-"))
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    official = write_official(workdir, args.scale)
    inputs = sum(Path(p).stat().st_size for p in official.values())
    print(
        f"official JSONs: {inputs / 2**20:.0f} MiB, written in {time.perf_counter() - start:.0f} s"
    )
    outputs = {s: str(workdir / f"data/{s}.json") for s in ("train", "val", "test", "answers")}
    dataset = {"format": "official", "split_seed": 0,
               "official": {**official, "min_answer_count": 9, "minival_images": 5000},
               "max_questions": {"train": None, "val": None, "test": None}}  # fmt: skip
    spec = json.dumps({"outputs": outputs, "dataset": dataset})
    proc = subprocess.run(
        [sys.executable, __file__, "--child", spec], capture_output=True, text=True
    )
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    written = sum(Path(p).stat().st_size for p in outputs.values())
    request = questions_job_mem_mb(inputs)
    counts = {s: len(json.loads(Path(outputs[s]).read_text())) for s in ("train", "val", "test")}
    answers = len(json.loads(Path(outputs["answers"]).read_text())["answers"])
    print(f"prepare_vqa_v2: {row['seconds']:.0f} s, peak {row['peak_mb']:.0f} MB, "
          f"request {request} MB, wrote {written / 2**20:.0f} MiB")  # fmt: skip
    print(f"questions: {counts}, {answers} answers")
    print("peak under its request" if row["peak_mb"] < request else "PEAK EXCEEDS ITS REQUEST")
    return 0 if row["peak_mb"] < request else 1


if __name__ == "__main__":
    sys.exit(main())
