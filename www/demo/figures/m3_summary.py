"""M³ against λ = 0.5 and the best λ of a grid, from `mixmerge sweep path` reports.

Usage: python3 m3_summary.py PATH_ALPHA_0.5.json PATH_ALPHA_1.json ...
Each report holds a `linear` curve on a λ grid and M³ draws (λ ~ Beta(α, α)) of the same pair.
The score of a merge is its mean exact match over the pair's two tasks (A's and B's experts'
tasks, given as the report's `a`/`b` names up to a `-N` variant suffix).
"""
import json
import statistics
import sys


def task_of(model):
    head, _, tail = model.rpartition("-")
    return head if head and tail.isdigit() else model


def pair_score(scores, tasks):
    by_task = {s["task"]: s["exact_match"] for s in scores}
    return sum(by_task[t] for t in tasks) / len(tasks)


for file in sys.argv[1:]:
    report = json.load(open(file))
    tasks = sorted({task_of(report["a"]), task_of(report["b"])})
    linear = next(c for c in report["curves"] if c["method"] == "linear")
    grid = [(p["lambda"], pair_score(p["scores"], tasks)) for p in linear["points"]]
    half = min(grid, key=lambda p: abs(p[0] - 0.5))
    best = max(grid, key=lambda p: p[1])
    mixup = report["mixup"]
    draws = [pair_score(p["scores"], tasks) for p in mixup["points"]]
    beats = sum(d > half[1] for d in draws)
    print(
        f"alpha {mixup['alpha']}: {len(draws)} draws of {report['a']} / {report['b']} on {', '.join(tasks)}: "
        f"mean {100 * statistics.mean(draws):.1f} %, median {100 * statistics.median(draws):.1f} %, "
        f"best {100 * max(draws):.1f} %, worst {100 * min(draws):.1f} %, "
        f"{beats} of {len(draws)} above λ = 0.5 ({100 * half[1]:.1f} %); "
        f"best grid λ = {best[0]:.2f} ({100 * best[1]:.1f} %)"
    )
