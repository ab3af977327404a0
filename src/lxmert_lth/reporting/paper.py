"""The numbers of arXiv 2310.15325 (``docs/method.md``, "The study"), for the comparison table."""

from __future__ import annotations

# Table 1, 50% sparsity, VQA v2 test-dev and test-std: (mean, std); std None = one run.
TABLE1_SPARSITY = 50
TABLE1 = {
    "test-dev": {
        "dense": {"yes/no": (88.24, None), "number": (54.45, None), "other": (63.05, None),
                  "overall": (72.45, None)},
        "low": {"yes/no": (86.95, 0.95), "number": (52.60, 1.87), "other": (60.96, 1.76),
                "overall": (70.72, 1.44)},
        "high": {"yes/no": (74.11, 0.91), "number": (42.81, 1.36), "other": (50.50, 0.19),
                 "overall": (59.35, 0.61)},
        "random": {"yes/no": (69.26, 0.29), "number": (39.84, 0.93), "other": (45.96, 0.83),
                   "overall": (54.86, 0.52)},
    },
    "test-std": {
        "dense": {"yes/no": (88.29, None), "number": (54.37, None), "other": (63.18, None),
                  "overall": (72.63, None)},
        "low": {"yes/no": (87.07, 1.12), "number": (52.28, 1.66), "other": (61.02, 1.83),
                "overall": (70.87, 1.51)},
        "high": {"yes/no": (74.23, 0.81), "number": (42.99, 0.87), "other": (50.71, 0.26),
                 "overall": (59.62, 0.55)},
        "random": {"yes/no": (69.27, 0.18), "number": (40.34, 0.66), "other": (46.33, 0.79),
                   "overall": (55.19, 0.45)},
    },
}  # fmt: skip

# The authors' report: minival overall accuracy per sparsity (mean of 3 seeds).
MINIVAL_DENSE = 70.27
MINIVAL = {
    "low": {10: 69.94, 20: 69.59, 30: 69.23, 40: 68.70, 50: 67.44, 60: 63.94, 70: 58.50,
            80: 50.63, 90: 28.12},
    "random": {10: 69.58, 20: 62.21, 30: 60.23, 40: 57.49, 50: 52.63, 60: 48.68, 70: 44.96,
               80: 24.36, 90: 24.36},
    "high": {10: 69.75, 20: 69.17, 30: 68.60, 40: 67.87, 50: 67.78, 60: 58.76, 70: 52.28,
             80: 46.54, 90: 25.40},
}  # fmt: skip


def minival(kind: str, sparsity: int) -> float | None:
    if kind == "dense":
        return MINIVAL_DENSE
    return MINIVAL.get(kind, {}).get(int(sparsity))
