"""`python -m data_tools export`: corrected labels from an audit file. Finds the audit's dataset and
scores (`load_audit_inputs`, also for the app when it has only paths) and writes one format through the
destination guard."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from data_tools.audit import Audit
from data_tools.export.destination import export
from data_tools.export.drop import apply_drops, drop_summary, dropped_report_path, issue_drops, parse_kinds, write_dropped
from data_tools.export.errors import ExportError
from data_tools.export.formats import FORMATS
from data_tools.export.table import changes_summary, corrected_table, unmatched_decisions
from data_tools.manifest import load_dataset
from data_tools.rundir import RunDir


def _runs_of(audit: Audit, meta: dict[str, str]):
    """Run folders that may hold the audit's scores: the audit's own folder, then the run recorded in
    its meta (an absolute `run_path` since audits record it; older ones name the run in `run`)."""
    candidates = [audit.path.resolve().parent, meta.get("run_path"), meta.get("run")]
    return [RunDir(c) for c in candidates if c]


def _dataset_dir(audit: Audit, meta: dict[str, str]) -> Path:
    """The audit's dataset: the absolute `dataset_path` recorded when the audit was created; for older
    audits, meta 'dataset' (else the run's own config) resolved by RunDir.dataset_dir()."""
    found = Path(meta["dataset_path"]) if meta.get("dataset_path") else \
        _runs_of(audit, meta)[0].dataset_dir(meta.get("dataset") or None)
    if found is None:
        raise ExportError(f"{audit.path}: the audit names no dataset; pass --dataset DIR")
    if not found.exists():
        raise ExportError(f"{audit.path}: its dataset {meta.get('dataset') or found} does not exist; "
                          "pass --dataset DIR")
    return found


def load_scores(path: str | os.PathLike) -> pd.DataFrame:
    """sample_id and suspicion from a run's scores file."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such scores file")
    try:
        df = pd.read_parquet(path, columns=["sample_id", "suspicion"])
    except (KeyError, ValueError, OSError) as e:
        raise ExportError(f"{path}: cannot read sample_id and suspicion ({str(e).splitlines()[0]})") from None
    df["sample_id"] = df["sample_id"].astype(str)
    return df


def load_audit_inputs(audit_path: str | os.PathLike, dataset_dir: str | os.PathLike | None = None,
                      scores_path: str | os.PathLike | None = None):
    """(audit, dataset, latest decisions, scores or None) for an audit file; defaults as the CLI's."""
    audit = Audit.open_existing(audit_path)
    meta = audit.meta()
    dataset = load_dataset(dataset_dir if dataset_dir is not None else _dataset_dir(audit, meta))
    if scores_path is None:
        scores_path = next((r.scores_path for r in _runs_of(audit, meta) if r.scores_path.is_file()), None)
    scores = load_scores(scores_path) if scores_path is not None else None
    return audit, dataset, audit.latest(), scores


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audit", required=True, help="audit database (the app keeps one in each run folder)")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="csv: corrected table (label = corrected label, removed rows dropped, original_label and the decision kept); manifest: dataset folder to retrain on; rafdb: RAF-DB list; "
                        "ferplus: fer2013new.csv layout")
    p.add_argument("--out", required=True, help="output file (a folder for --format manifest)")
    p.add_argument("--dataset", help="dataset folder (default: the one the audit names)")
    p.add_argument("--scores", help="a run's scores file for the suspicion column (default: the run's, if present)")
    p.add_argument("--drop-issues", metavar="TYPES",
                   help="comma-separated issue types of the dataset's issues.parquet to drop from the export "
                        "(e.g. exact_duplicate,split_leak,blank): duplicates keep one face per group, leaks "
                        "lose their test copies, conflicts lose every copy; reviewed rows keep their decision; "
                        "the dropped rows are listed in dropped_issues.csv")


def main(args: argparse.Namespace) -> int:
    kinds = parse_kinds(args.drop_issues) if args.drop_issues is not None else None
    audit, dataset, decisions, scores = load_audit_inputs(args.audit, args.dataset, args.scores)
    unmatched = unmatched_decisions(dataset, decisions)
    if unmatched:
        print(f"warning: {len(unmatched)} decision(s) name samples not in {dataset.root} and are not "
              f"exported (first: {unmatched[0]})", file=sys.stderr)
    table = corrected_table(dataset, decisions, scores, audit.events())
    meta = audit.meta()
    info = {"audit": str(audit.path.resolve()), "run": meta.get("run", "")}
    drops = None
    if kinds is not None:
        table, drops = apply_drops(table, issue_drops(dataset, kinds))
        info["dropped_issues"] = {"types": kinds, "removed": int((drops["applied"] == "removed").sum())}
    out = export(args.format, table, dataset, args.out, audit_info=info, audit=audit.path,
                 runs=[r.path for r in _runs_of(audit, meta)], scores=args.scores)
    total = changes_summary(table).iloc[-1]
    print(f"wrote {out}: {int(total['after'])} of {int(total['before'])} samples "
          f"(relabelled {int(total['relabel_from'])}, removed {int(total['remove'])}, kept {int(total['keep'])}, "
          f"unsure {int(total['unsure'])}, undecided {int(total['undecided'])})")
    if drops is not None:
        report = write_dropped(dropped_report_path(args.format, out), drops)
        print(f"{drop_summary(drops)}; listed in {report}")
    return 0
