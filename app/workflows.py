"""What the app does beyond showing things, as plain functions without streamlit (the pages call them
and the tests call them directly): start or resume training, the first-run demo, import a dataset, and
retrain on an audit's corrected labels with the audit carried over.

Long work runs as a background job (app.jobs) of the same commands a user would type:
`python -m data_tools ...` and `python -m eac_core.train ...`. Refusals are WorkflowError (a ValueError)
with a message to show as is."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from app import jobs
from app.components.project import PathRefused, check_path, datasets_dir, home, runs_dir
from eac_core.config import train_command
from data_tools.rundir import RunDir, list_runs

IMPORT_TIMEOUT_S = 3600
# Sizes of the first-run demo (environment overrides let tests and the browser e2e use a tiny one).
DEMO_ENV = {"n_train": ("FER_AUDIT_DEMO_TRAIN", 3000), "n_test": ("FER_AUDIT_DEMO_TEST", 700),
            "epochs": ("FER_AUDIT_DEMO_EPOCHS", 0)}
RETRAIN_OPTIONS = ("mode", "arch", "preset", "epochs", "image_size", "device", "pretrained")


class WorkflowError(ValueError):
    """A workflow refused or failed; the message says why, for the user."""


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def new_run_name(dataset_name: str, mode: str = "eac") -> str:
    """<dataset>-<mode>-<UTC timestamp>; unique per second."""
    return f"{dataset_name}-{mode}-{_stamp()}"


def plain_name(name: str) -> bool:
    """A name usable as one folder: no separators, not hidden, not empty."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


# -- training ------------------------------------------------------------------------------------
def launch_training(dataset_dir: str | os.PathLike, *, name: str | None = None, meta: dict | None = None,
                    **options) -> RunDir:
    """Start `python -m eac_core.train` on a dataset into runs/<name> as a job; returns the run.
    `options` are the trainer's flags (mode='ce', epochs=3, ...); `meta` goes into the job file."""
    dataset_dir = Path(dataset_dir)
    run = RunDir(runs_dir() / (name or new_run_name(dataset_dir.name, options.get("mode") or "eac")))
    if not options.get("resume") and (run.is_run() or (run.path.exists() and any(run.path.iterdir()))):
        held = "a run" if run.is_run() else "other files"
        raise WorkflowError(f"run folder {run.name} already exists (it holds {held}); choose another name")
    jobs.launch(train_command(dataset_dir, run, **options), run, kind="train", dataset=str(dataset_dir),
                **(meta or {}))
    return run


def pretrained_runs() -> list[RunDir]:
    """Finished runs whose checkpoint can start another training (`--pretrained <run folder>`: pretrain once
    on a large dataset, fine-tune on many small ones), the most recently active first."""
    from data_tools.rundir import list_runs
    return [r for r in list_runs(runs_dir()) if r.checkpoint_path.is_file() and r.is_finished()]


def resume_training(run: str | os.PathLike) -> RunDir:
    """Continue an unfinished run from its last checkpoint (`--resume`, the run's own dataset and epochs)."""
    run = RunDir(run)
    cfg = run.read_config()
    if not cfg.get("dataset"):
        raise WorkflowError(f"run {run.name} has no config yet: nothing to resume")
    jobs.launch(train_command(cfg["dataset"], run, resume=True, epochs=cfg.get("epochs")), run,
                kind="resume", dataset=str(cfg["dataset"]))
    return run


# -- the first run -------------------------------------------------------------------------------
def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def demo_commands(run: str | os.PathLike) -> tuple[list[list[str]], list[str]]:
    """(commands before, training command) of the first-run job: `python -m data_tools demo` when
    datasets/demo is missing, then the CPU preset of `python -m eac_core.train` on it."""
    ds = datasets_dir() / "demo"
    epochs = _env_int(*DEMO_ENV["epochs"])
    train = train_command(ds, run, preset="demo", epochs=epochs or None)
    if (ds / "dataset.json").is_file():
        return [], train
    demo = [sys.executable, "-m", "data_tools", "demo", "--out", str(ds),
            "--n-train", str(_env_int(*DEMO_ENV["n_train"])), "--n-test", str(_env_int(*DEMO_ENV["n_test"]))]
    return [demo], train


def start_demo() -> RunDir:
    """Generate the demo dataset (when missing) and train on it, as one background job; returns the run."""
    run = RunDir(runs_dir() / new_run_name("demo", "eac"))
    before, train = demo_commands(run)
    jobs.launch(train, run, before=before, kind="demo", dataset=str(datasets_dir() / "demo"))
    return run


# -- importing -----------------------------------------------------------------------------------
def _import_command(argv: list[str]) -> str:
    """Run an import command (a dataset or predictions) in the project folder; its last output line,
    or WorkflowError with the command's own last line (its one-line message) when it fails."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S, cwd=str(home()))
    except subprocess.TimeoutExpired:
        raise WorkflowError("The import took too long and was stopped.") from None
    if res.returncode != 0:
        lines = (res.stderr or res.stdout or "").strip().splitlines()
        raise WorkflowError("Import failed: " + (lines[-1] if lines else f"exit code {res.returncode}"))
    out_lines = res.stdout.strip().splitlines()
    return out_lines[-1] if out_lines else ""


CSV_COLUMN_FLAGS = {"path_col": "--path-col", "label_col": "--label-col", "split_col": "--split-col",
                    "id_col": "--id-col", "group_col": "--group-col"}


class DatasetExists(WorkflowError):
    """The name is taken by a dataset; the page asks, then imports again with replace=True."""

    def __init__(self, message: str, name: str):
        super().__init__(message)
        self.name = name


def runs_using(dataset_dir: Path) -> list[str]:
    """Names of the runs whose dataset is `dataset_dir` (a broken run is skipped)."""
    target = os.path.realpath(dataset_dir)
    names = []
    for run in list_runs(runs_dir()):
        try:
            ds = run.dataset_dir()
        except (OSError, ValueError):
            continue
        if ds is not None and os.path.realpath(ds) == target:
            names.append(run.name)
    return names


def _existing_dataset(out: Path) -> str:
    """'datasets/<name> already holds a dataset (N images; used by K runs).' for the question."""
    from data_tools.manifest import read_info
    try:
        n = read_info(out).counts.get("imported")
    except (OSError, ValueError):
        n = None
    runs = runs_using(out)
    facts = ([f"{n:,} images"] if isinstance(n, int) else []) + (
        [f"used by {len(runs)} run(s): {', '.join(runs[:3])}{' …' if len(runs) > 3 else ''}"] if runs else [])
    return f"datasets/{out.name} already holds a dataset" + (f" ({'; '.join(facts)})" if facts else "") + "."


def checked_path(field: str, path: str | os.PathLike) -> Path:
    """`path` resolved when it lies under an allowed root (app.components.project.check_path), else
    WorkflowError in one line naming the field and the path, never what the file holds: nothing has
    read it (issue 22 item 2: a label CSV outside the roots was read and its first line shown)."""
    try:
        return check_path(path)
    except PathRefused as e:
        raise WorkflowError(f"{field}: {e}") from None


def import_dataset(fmt: str, root: str, name: str, *, csv: str = "", classes: str = "",
                   columns: dict[str, str] | None = None, replace: bool = False) -> tuple[Path, str]:
    """Check the folder and the label CSV (`csv`, relative to the folder or absolute) against the allowed
    roots (`checked_path`; the importer is given the CSV resolved), then run `python -m data_tools import` into
    datasets/<name>; returns (the dataset folder, the importer's last line). `columns` names the CSV's
    columns (path_col, label_col, split_col, id_col, group_col: the importer's --path-col ... flags);
    empty values keep the importer's defaults. A name that holds a dataset raises DatasetExists
    unless `replace` (the importer's --replace: the new folder is swapped in only when it succeeded,
    at the same path, so the runs and audits that use it read the new one)."""
    src = checked_path("Dataset folder", root)
    if not src.is_dir():
        raise WorkflowError(f"Dataset folder: '{root}' is not a folder.")
    csv_file = None
    if csv.strip():     # relative to the folder, as the importer's --csv; checked like the folder itself
        given = Path(csv.strip()).expanduser()
        csv_file = checked_path("Label CSV", given if given.is_absolute() else src / given)
        if not csv_file.is_file():
            raise WorkflowError(f"Label CSV: '{csv.strip()}' is not a file.")
    name = (name or src.name).strip()
    if not plain_name(name) or name == "..":
        raise WorkflowError("The name must be a plain folder name (no '/', no leading '.').")
    out = datasets_dir() / name
    if (out / "dataset.json").is_file() and not replace:
        raise DatasetExists(_existing_dataset(out) + " Replacing it changes what the runs and audits that use "
                            "it read.", name)
    argv = [sys.executable, "-m", "data_tools", "import", "--format", fmt, "--root", str(src), "--out", str(out)]
    if replace:
        argv.append("--replace")
    if csv_file is not None:
        argv += ["--csv", str(csv_file)]
    if classes.strip():
        argv += ["--classes", classes.strip()]
    for key, value in (columns or {}).items():
        if key not in CSV_COLUMN_FLAGS:
            raise WorkflowError(f"unknown column option '{key}' (one of: {', '.join(CSV_COLUMN_FLAGS)})")
        if str(value).strip():
            argv += [CSV_COLUMN_FLAGS[key], str(value).strip()]
    return out, _import_command(argv)


def import_predictions(dataset: str, probs: str, name: str, *, score: str = "self_confidence") -> tuple[RunDir, str]:
    """A run from the user's own out-of-sample probabilities: check the dataset (datasets/<dataset>)
    and the file against the allowed roots, then run `python -m eac_core.import_predictions` into
    runs/<name>; returns (the run, the command's last line)."""
    ds = datasets_dir() / dataset
    if not plain_name(dataset) or not (ds / "dataset.json").is_file():
        raise WorkflowError(f"'{dataset}' is not a dataset under datasets/.")
    src = checked_path("Predictions file", probs)
    if not src.is_file():
        raise WorkflowError(f"Predictions file: '{probs}' is not a file.")
    name = (name or f"{dataset}-imported-{_stamp()}").strip()
    if not plain_name(name) or name == "..":
        raise WorkflowError("The run name must be a plain folder name (no '/', no leading '.').")
    out = runs_dir() / name
    argv = [sys.executable, "-m", "eac_core.import_predictions", "--dataset", str(ds), "--probs", str(src),
            "--out", str(out), "--score", score]
    return RunDir(out), _import_command(argv)


# -- retraining on corrected labels ----------------------------------------------------------------
def retrain_from_audit(run: str | os.PathLike, dataset, table, audit, audit_info: dict) -> RunDir:
    """Export the corrected manifest as datasets/<dataset>-corrected-<time>, train a new run on it with
    this run's settings, and copy the audit's decisions into the new run's audit; returns the new run."""
    from data_tools import export as ex
    from data_tools.audit import Audit
    run = RunDir(run)
    out_ds = datasets_dir() / f"{Path(dataset.root).name}-corrected-{_stamp()}"
    ex.export("manifest", table, dataset, out_ds, audit_info=audit_info)
    try:
        cfg = run.read_config()
    except ValueError:
        cfg = {}
    opts = {k: cfg.get(k) for k in RETRAIN_OPTIONS if cfg.get(k)}
    new_run = launch_training(out_ds, name=f"{out_ds.name}-{opts.get('mode', 'eac')}",
                              meta={"parent_run": run.name}, **opts)
    new_audit = Audit.open(new_run.audit_path, dataset=str(out_ds), run=new_run.name, run_dir=new_run.path,
                           classes=list(dataset.classes))
    audit.copy_decisions_to(new_audit)
    return new_run


def retrained_from(run: str | os.PathLike) -> list[RunDir]:
    """Runs retrained from this one (their job names it as parent), most recent first."""
    name = RunDir(run).name
    return [r for r in list_runs(runs_dir()) if (r.read_job() or {}).get("parent_run") == name]
