"""Paths and readers shared by the AppTest tests (imported by module name)."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAIN = str(REPO / "app" / "main.py")
RUN_NAME = "demo-eac-20260101-000000"


def run_path(home: Path) -> Path:
    return home / "runs" / RUN_NAME


def scores_of(home: Path):
    from eac_core.rundir import RunDir
    return RunDir(run_path(home)).read_scores().sort_values("rank").reset_index(drop=True)


def audit_of(home: Path):
    from data_tools.audit import Audit
    return Audit(run_path(home) / "audit.sqlite")
