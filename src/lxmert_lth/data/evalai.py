"""The EvalAI server's side of VQA v2: submission files out, result files in.

A submission is a JSON list of ``{"question_id": int, "answer": str}`` that must cover
every test2015 question exactly once (the server rejects it otherwise, hours later, so
it is checked here before anything is written).

A result file is what EvalAI shows for a finished submission ("result file"): one
object, or a list of objects, keyed by phase, each with the accuracy per answer type::

    [{"test-dev": {"yes/no": 88.2, "number": 54.4, "other": 63.0, "overall": 72.4}},
     {"test-standard": {"yes/no": 88.3, "number": 54.4, "other": 63.2, "overall": 72.6}}]

Phase names containing "dev" count as test-dev, "std"/"standard" as test-std; "others"
is read as "other" (EvalAI's leaderboard label).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import read_json, write_json

PHASES = ("test-dev", "test-std")
METRICS = ("yes/no", "number", "other", "overall")


def check_submission(entries: Sequence[Mapping], question_ids: Iterable[int], source: str):
    """Stop, naming a question id, unless ``entries`` answer each question exactly once."""
    counts = Counter(e["question_id"] for e in entries)
    duplicated = next((q for q, n in counts.items() if n > 1), None)
    if duplicated is not None:
        raise InputError(
            f"{source}: question_id {duplicated} is answered {counts[duplicated]} times"
        )
    wanted = list(question_ids)
    missing = next((q for q in wanted if q not in counts), None)
    if missing is not None:
        n = sum(1 for q in wanted if q not in counts)
        raise InputError(
            f"{source}: {n} test questions have no answer (first: question_id {missing})"
        )
    wanted_set = set(wanted)
    extra = next((q for q in counts if q not in wanted_set), None)
    if extra is not None:
        raise InputError(f"{source}: question_id {extra} is not a test question")
    bad = next((e for e in entries if not isinstance(e.get("answer"), str)), None)
    if bad is not None:
        raise InputError(f"{source}: question_id {bad['question_id']} has no answer string")


def write_submission(path, predictions: Mapping[int, str], question_ids: Sequence[int]) -> None:
    """The EvalAI submission file, checked against the test questions before it is written."""
    entries = [{"question_id": q, "answer": a} for q, a in predictions.items()]
    check_submission(entries, question_ids, str(path))
    write_json(path, entries)


def _phase(name: str) -> str | None:
    name = name.lower()
    if "dev" in name:
        return "test-dev"
    if "std" in name or "standard" in name:
        return "test-std"
    return None


def read_result(path) -> dict[str, dict[str, float]]:
    """phase -> {yes/no, number, other, overall} of one EvalAI result file."""
    doc = read_json(path)
    items = doc if isinstance(doc, list) else [doc]
    out: dict[str, dict[str, float]] = {}
    for item in items:
        if not isinstance(item, dict):
            raise InputError(f"{path}: expected objects keyed by phase (e.g. 'test-dev')")
        for name, metrics in item.items():
            phase = _phase(name)
            if phase is None:
                raise InputError(f"{path}: unknown phase {name!r} (expected test-dev or test-std)")
            if not isinstance(metrics, dict):
                raise InputError(f"{path}: phase {name!r} holds no accuracies")
            metrics = {("other" if k == "others" else k): v for k, v in metrics.items()}
            missing = [m for m in METRICS if not isinstance(metrics.get(m), (int, float))]
            if missing:
                raise InputError(f"{path}: phase {name!r} has no number for {missing[0]!r}")
            out[phase] = {m: float(metrics[m]) for m in METRICS}
    if not out:
        raise InputError(f"{path}: no phase results")
    return out
