"""Paths and readers shared by the AppTest tests (imported by module name)."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAIN = str(REPO / "app" / "main.py")
RUN_NAME = "demo-eac-20260101-000000"


def run_path(home: Path) -> Path:
    return home / "runs" / RUN_NAME


def scores_of(home: Path):
    from data_tools.rundir import RunDir
    return RunDir(run_path(home)).read_scores().sort_values("rank").reset_index(drop=True)


def audit_of(home: Path):
    from data_tools.audit import Audit
    return Audit(run_path(home) / "audit.sqlite")


def rerank(run: Path, order: list[str], *, provisional: bool) -> None:
    """Rewrite a run's scores with a new ranking (rank 1 = order[0]) and a modification time 5 s newer,
    as a trainer writing a newer (provisional or final) ranking would."""
    import os

    from data_tools.rundir import RunDir
    rd = RunDir(run)
    s = rd.read_scores()
    s["sample_id"] = s["sample_id"].astype(str)
    s = s.set_index("sample_id").loc[order].reset_index()
    s["rank"] = range(1, len(s) + 1)
    s["suspicion"] = 1.0 - s["rank"] / len(s)
    s["provisional"] = provisional
    old = rd.scores_path.stat().st_mtime_ns
    rd.write_scores(s)
    os.utime(rd.scores_path, ns=(old + 5_000_000_000, old + 5_000_000_000))
