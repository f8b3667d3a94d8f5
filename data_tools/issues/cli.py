"""`python -m data_tools issues --dataset D`: recompute a dataset folder's issues.parquet."""
from __future__ import annotations

import argparse
from pathlib import Path

from data_tools.issues.dataset import ISSUES_FILE, compute_issues, summary
from data_tools.manifest import INFO


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Arguments of `python -m data_tools issues`."""
    p.add_argument("--dataset", required=True, help="dataset folder (its issues.parquet is rewritten)")
    p.add_argument("--jobs", type=int, default=0, help="decoding processes (0: one per core)")


def main(args: argparse.Namespace) -> int:
    """Measure every image of the dataset, write issues.parquet, print the counts per issue type."""
    folder = Path(args.dataset)
    if not (folder / INFO).is_file():
        raise ValueError(f"{folder}: not a dataset folder (no {INFO})")
    if args.jobs < 0:
        raise ValueError(f"--jobs {args.jobs}: must be 0 (one per core) or more")
    table = compute_issues(folder, jobs=args.jobs)
    print(f"{folder / ISSUES_FILE}: {summary(table)}")
    return 0
