"""Review queue filters and sorting on an AffectNet-sized run (issue 9, Scale: target ≤ 200 ms).

    python bench/bench_queue_scale.py [--n 300000] [--reps 7] [--decided 5000]

Times the app's own functions (app/components/queue.py: filter_queue, with_decisions, score_columns) on
the scores of the project bench/make_scale_project.py writes, in the shape the Review page calls them:
the page's slim copy of the columns the queue needs (cached by the page), `decided` ids from an audit
of --decided decisions, then `filter_queue` followed by the id list the page keeps (`tolist()`). The
first call on a new slim frame also builds the queue's cached fast form; it is reported apart. Median and worst
of --reps repetitions per case, in one process (wall-clock, so other processes on the machine count)."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from make_scale_project import HOME, RUN, build, source_run  # noqa: E402

from app.components.queue import QueueFilter, filter_queue, score_columns, with_decisions  # noqa: E402
from data_tools.rundir import RunDir  # noqa: E402

TARGET_MS = 200


CPU_MS: list[float] = []      # CPU ms (this process) of the last timed() call's repetitions


def timed(fn, reps: int) -> tuple[float, float, object]:
    out, ms = None, []
    CPU_MS.clear()
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        ms.append(1000 * (time.perf_counter() - t))
        CPU_MS.append(1000 * (time.process_time() - c))
    return statistics.median(ms), max(ms), out


def plain_filter_queue(df, decided_ids, f: QueueFilter):
    """filter_queue as it was before its fast form (commit 293eb5e), timed side by side as the baseline."""
    import pandas as pd
    mask = pd.Series(True, index=df.index)
    if f.given:
        mask &= df["label"].isin(f.given)
    if f.predicted:
        mask &= df["pred"].isin(f.predicted)
    if f.score_range is not None and f.score_col in df.columns:
        mask &= df[f.score_col].between(*f.score_range)
    if f.disagree:
        mask &= df["pred"] != df["label"]
    if f.status != "all":
        decided = df["sample_id"].isin(decided_ids or set())
        mask &= decided if f.status == "decided" else ~decided
    out = df[mask]
    by, desc = (f.sort_by, f.descending) if f.sort_by in out.columns else ("rank", False)
    return out.sort_values(by, ascending=not desc, kind="stable", na_position="last")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--decided", type=int, default=5000, help="decisions in the audit (status filters)")
    ap.add_argument("--home", default=str(HOME))
    args = ap.parse_args()
    home = Path(args.home).resolve()
    build(home, args.n, source_run(None))
    import pandas as pd
    t = time.perf_counter()
    scores = RunDir(home / "runs" / RUN).read_scores()
    read_ms = 1000 * (time.perf_counter() - t)
    classes = sorted(scores["label"].unique())
    rng = np.random.default_rng(0)
    decided_ids = set(rng.choice(scores["sample_id"].to_numpy(), args.decided, replace=False))
    latest = pd.DataFrame({"sample_id": sorted(decided_ids), "action": "keep", "new_label": None})
    lo, hi = scores["suspicion"].quantile([0.5, 0.99])

    def slim(f: QueueFilter) -> pd.DataFrame:   # what review_queue.slim keeps (loaders.slim_scores caches it per column set)
        cols = [c for c in dict.fromkeys(["sample_id", "label", "pred", "suspicion", "rank", f.score_col, f.sort_by])
                if c in scores.columns]
        return scores[cols].copy()

    cases = [
        ("default: all, by rank", QueueFilter()),
        ("given class = 1 of 7", QueueFilter(given=[classes[0]])),
        ("given 2 classes, predicted 1", QueueFilter(given=classes[:2], predicted=[classes[2]])),
        ("model disagrees with the label", QueueFilter(disagree=True)),
        ("suspicion in its top half", QueueFilter(score_range=(float(lo), float(hi)))),
        (f"undecided ({args.decided:,} decided)", QueueFilter(status="undecided")),
        ("decided only", QueueFilter(status="decided")),
        ("sort by suspicion, descending", QueueFilter(sort_by="suspicion", descending=True)),
        ("sort by loss", QueueFilter(sort_by="loss")),
        ("sort by p_label, descending", QueueFilter(sort_by="p_label", descending=True)),
        ("all filters + sort by margin", QueueFilter(given=classes[:3], disagree=True, status="undecided",
                                                      score_range=(float(lo), float(hi)), sort_by="margin")),
    ]
    load0 = os.getloadavg()[0]
    print(f"{len(scores):,} scored faces, {scores.shape[1]} columns; scores.parquet read in {read_ms:.0f} ms "
          f"(once per file version in the app: cached)")
    med, worst, cols = timed(lambda: score_columns(scores), args.reps)
    print(f"score_columns (the sort/score choices): {med:.1f} ms median\n")
    print("| queue | rows | first call ms (slim copy + fast form: once per column set) | "
          "filter_queue + id list ms, median | worst | CPU ms, median | with_decisions (60 rows) ms | "
          "before (plain pandas) ms, median | before, CPU ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst_all = 0.0
    for name, f in cases:
        t = time.perf_counter()
        s = slim(f)
        filter_queue(s, decided_ids, f)["sample_id"].tolist()
        first = 1000 * (time.perf_counter() - t)
        med, wmax, ids = timed(lambda: filter_queue(s, decided_ids, f)["sample_id"].tolist(), args.reps)
        cpu = statistics.median(CPU_MS)
        ref, _, ref_ids = timed(lambda: plain_filter_queue(s, decided_ids, f)["sample_id"].tolist(), args.reps)
        ref_cpu = statistics.median(CPU_MS)
        assert ids == ref_ids, name
        q = filter_queue(s, decided_ids, f)
        d_med, _, _ = timed(lambda: with_decisions(q.head(60), latest), args.reps)
        worst_all = max(worst_all, med + d_med)
        print(f"| {name} | {len(ids):,} | {first:.0f} | {med:.0f} | {wmax:.0f} | {cpu:.0f} | {d_med:.1f} | {ref:.0f} | "
              f"{ref_cpu:.0f} |")
    load1 = os.getloadavg()[0]
    print(f"\nslowest case on a rerun, filter + id list + decisions column: {worst_all:.0f} ms median: "
          f"{'met' if worst_all <= TARGET_MS else 'NOT met'} (target ≤ {TARGET_MS} ms)")
    print(f"machine: {os.cpu_count()} CPUs, 1-min load average {load0:.1f} before / {load1:.1f} after "
          f"(other processes share the CPUs); {args.reps} repetitions per case")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
