"""Corrected labels out of an audit: a corrected CSV, a manifest to retrain on, RAF-DB's list, FERPlus CSV.

One table drives every format: `corrected_table` joins the manifest with the latest decision of each
sample (and its suspicion score). `final_label` is the label in the corrected dataset: the new label for
`relabel`, nothing for `remove`, the original label for `keep`, `unsure` and undecided rows.

Formula neutralisation (`neutralize_cell`): a text cell starting with = + - @ tab or carriage return
gets a leading apostrophe, unless the whole cell is a plain decimal number ("-1", "+0.5", "-3e-2"):
a spreadsheet reads that as a number, not a formula, so numeric data stays numeric whether it is typed
as a number or held as text. The `csv` export (`csv_table`: `label` is the corrected label, removed rows
are dropped, `original_label` and the decision follow) and the app's table downloads neutralise every
cell and header. The machine formats (manifest, RAF-DB list, FERPlus CSV) are read by training code: they hold
no reviewer-typed text (no notes, no reviewer names), and their identifiers (sample_id, path, file
names, labels) cannot take an apostrophe, which would break image lookup and audit keys. So the two
spreadsheet-facing dataset formats (the RAF-DB list and FERPlus's CSV) refuse a file name or Usage cell
that a spreadsheet would run (`refuse_formulas`: the export stops with the sample named); the manifest,
a dataset folder for the trainer, is written verbatim.

FERPlus votes rule: a row keeps its vote counts when their plurality (a unique maximum over the ten
columns) already names its final label, so an unchanged dataset round-trips and relabelling a noisy
label back to the annotators' choice restores the original votes. Otherwise (a relabel, or a label that
noise injection changed) all of the row's votes go to the final label and every other column, unknown
and NF included, becomes 0: the total is kept (10 without votes), and every FERPlus label mode
(majority, plurality, probability, cross-entropy) then reads the reviewer's label.

Every file is written to a temporary name in its folder and renamed into place (data_tools.atomic).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import zipfile
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from data_tools import atomic
from data_tools.audit import ACTIONS, Audit
from data_tools.classes import FERPLUS_VOTE_COLUMNS, RAFDB_ORDER, try_normalize
from data_tools.manifest import INFO, MANIFEST, REPORT, Dataset, load_dataset, write_dataset

FORMATS = ("csv", "manifest", "rafdb", "ferplus")
DECISION_COLUMNS = ["original_label", "final_label", "action", "suspicion", "decided_at", "reviewer", "note"]
FERPLUS_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FERPLUS_ANNOTATORS = 10          # votes given to the final label of a row that has no vote columns
RAFDB_FILE_COLUMNS = ("file", "source_file")          # where an importer may keep the list's file name
FERPLUS_FILE_COLUMNS = ("image_name", "file", "source_file")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")
_CHUNK = 1 << 20


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says which sample, file or option."""


# -- formula neutralisation ---------------------------------------------------------------------
def neutralize_cell(value: Any) -> Any:
    """Prefix an apostrophe to a text cell a spreadsheet would run as a formula; numbers pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and header neutralised; numeric, bool and datetime columns untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
                or pd.api.types.is_datetime64_any_dtype(s)):
            continue
        try:
            risky = s.str.startswith(_FORMULA_START, na=False).to_numpy(dtype=bool)
        except AttributeError:                       # no strings in this column at all
            continue
        if risky.any():
            values = s.to_numpy(dtype=object).copy()
            values[risky] = [neutralize_cell(v) for v in values[risky]]
            out[col] = pd.Series(values, index=s.index, dtype=object)
    out.columns = [neutralize_cell(str(c)) for c in out.columns]
    return out


def refuse_formulas(table: pd.DataFrame, values: Iterable[Any], what: str) -> None:
    """ExportError naming the first sample whose `what` cell a spreadsheet would run as a formula.
    For the dataset formats, whose cells name files and splits: a neutralised cell would name
    nothing, so the export is refused instead."""
    for sid, value in zip(table["sample_id"], values):
        if neutralize_cell(value) != value:
            raise ExportError(f"sample {sid}: {what} {value!r} starts with {value[0]!r}, which a spreadsheet "
                              "runs as a formula; rename the file, or export --format csv (formulas "
                              "neutralised) or manifest")


# -- the corrected table ------------------------------------------------------------------------
def corrected_table(dataset: Dataset, decisions: pd.DataFrame | None,
                    scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Manifest rows in manifest order plus DECISION_COLUMNS. `decisions` is Audit.latest() (or any frame
    with sample_id, action, new_label, reviewer, note, decided_at; the last row per sample counts);
    `scores` needs sample_id and suspicion. A manifest column that clashes with a decision column is
    kept as `manifest_<name>`."""
    m = dataset.manifest.copy()
    m = m.rename(columns={c: f"manifest_{c}" for c in DECISION_COLUMNS if c in m.columns})
    sids = m["sample_id"].astype(str)
    d = _decision_frame(decisions).reindex(sids)
    action = d["action"].fillna("").to_numpy(dtype=object)
    new_label = d["new_label"].fillna("").to_numpy(dtype=object)
    original = m["label"].astype(str).to_numpy(dtype=object)
    bad = (action == "relabel") & ~np.isin(new_label, list(dataset.classes))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ExportError(f"sample {sids.iloc[i]}: relabelled to '{new_label[i]}', which is not one of: "
                          f"{', '.join(dataset.classes)}")
    final = np.where(action == "relabel", new_label, np.where(action == "remove", "", original))
    m["original_label"] = original
    m["final_label"] = final
    m["action"] = action
    m["suspicion"] = _suspicion(scores).reindex(sids).to_numpy(dtype=float)
    for col in ("decided_at", "reviewer", "note"):
        m[col] = d[col].fillna("").astype(str).to_numpy(dtype=object)
    return m.reset_index(drop=True)


def _decision_frame(decisions: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["action", "new_label", "reviewer", "note", "decided_at"]
    if decisions is None or len(decisions) == 0:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="sample_id"), dtype=object)
    missing = [c for c in ["sample_id", "action"] if c not in decisions.columns]
    if missing:
        raise ExportError(f"decisions lack column(s) {', '.join(missing)}")
    d = decisions.copy()
    for c in cols:
        d[c] = d[c].astype(object).where(d[c].notna(), "") if c in d.columns else ""
    unknown = sorted(set(d["action"]) - set(ACTIONS))
    if unknown:
        raise ExportError(f"unknown decision action(s) {', '.join(map(str, unknown))} (one of: {', '.join(ACTIONS)})")
    d["sample_id"] = d["sample_id"].astype(str)
    return d.drop_duplicates("sample_id", keep="last").set_index("sample_id")[cols]


def _suspicion(scores: pd.DataFrame | None) -> pd.Series:
    if scores is None or len(scores) == 0:
        return pd.Series(dtype=float)
    if "sample_id" not in scores.columns or "suspicion" not in scores.columns:
        raise ExportError("scores need the columns sample_id and suspicion")
    s = pd.Series(pd.to_numeric(scores["suspicion"], errors="coerce").to_numpy(dtype=float),
                  index=scores["sample_id"].astype(str))
    return s[~s.index.duplicated(keep="last")]


def unmatched_decisions(dataset: Dataset, decisions: pd.DataFrame) -> list[str]:
    """Sample ids that have a decision but no row in the dataset (they cannot be exported)."""
    if decisions is None or len(decisions) == 0:
        return []
    known = set(dataset.manifest["sample_id"].astype(str))
    return sorted(set(decisions["sample_id"].astype(str)) - known)


def changes_summary(table: pd.DataFrame, classes: list[str] | None = None) -> pd.DataFrame:
    """One row per original class (then 'total'): before, keep, relabel_from, relabel_to, remove,
    unsure, undecided, after (rows of the class in the exported dataset)."""
    orig, final, action = table["original_label"], table["final_label"], table["action"]
    if classes is None:
        seen = pd.unique(pd.concat([orig, final[final != ""]]))
        classes = [c for c in seen]
    classes = list(classes) + sorted(set(orig) - set(classes))
    rows = []
    for c in classes:
        is_c = orig == c
        rows.append({"class": c, "before": int(is_c.sum()),
                     "keep": int((is_c & (action == "keep")).sum()),
                     "relabel_from": int((is_c & (action == "relabel")).sum()),
                     "relabel_to": int(((final == c) & (action == "relabel")).sum()),
                     "remove": int((is_c & (action == "remove")).sum()),
                     "unsure": int((is_c & (action == "unsure")).sum()),
                     "undecided": int((is_c & (action == "")).sum()),
                     "after": int((final == c).sum())})
    out = pd.DataFrame(rows, columns=["class", "before", "keep", "relabel_from", "relabel_to", "remove",
                                      "unsure", "undecided", "after"])
    total = out.drop(columns="class").sum().to_dict()
    return pd.concat([out, pd.DataFrame([{"class": "total", **total}])], ignore_index=True)


# -- renderers: each yields the bytes of one file ------------------------------------------------
CSV_DECISION_COLUMNS = ["original_label", "action", "suspicion", "decided_at", "reviewer", "note"]


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """The corrected CSV's rows and columns: the manifest's columns in their order with `label` = the
    corrected label (the final label), removed rows dropped (as in every other format), then
    CSV_DECISION_COLUMNS; `action` is keep, relabel, unsure or undecided (no `final_label` column:
    it would repeat `label`)."""
    kept = table[table["action"] != "remove"].copy()
    kept["label"] = kept["final_label"]
    kept["action"] = kept["action"].replace("", "undecided")
    manifest_cols = [c for c in kept.columns if c not in DECISION_COLUMNS]
    return kept[manifest_cols + CSV_DECISION_COLUMNS].reset_index(drop=True)


def render_csv(table: pd.DataFrame) -> Iterator[bytes]:
    """The corrected CSV (csv_table), every text cell neutralised."""
    yield neutralize_frame(csv_table(table)).to_csv(index=False, lineterminator="\n").encode("utf-8")


def render_rafdb_list(table: pd.DataFrame, *, newline: str = "\n", final_newline: bool = True) -> Iterator[bytes]:
    """`<file> <1..7>` lines in manifest order, RAF-DB numbering; removed rows dropped."""
    kept = table[table["action"] != "remove"]
    number_of = {lab: RAFDB_ORDER.index(try_normalize(lab)) + 1
                 for lab in pd.unique(kept["final_label"]) if try_normalize(lab) in RAFDB_ORDER}
    numbers = kept["final_label"].map(number_of)
    if numbers.isna().any():
        i = int(np.flatnonzero(numbers.isna().to_numpy())[0])
        raise ExportError(f"sample {kept['sample_id'].iloc[i]}: label '{kept['final_label'].iloc[i]}' has no "
                          f"RAF-DB number (RAF-DB has: {', '.join(RAFDB_ORDER)})")
    numbers = numbers.astype(int).tolist()
    files = _file_names(kept, RAFDB_FILE_COLUMNS, strip_aligned=True)
    refuse_formulas(kept, files, "file name")
    lines = [f"{f} {n}" for f, n in zip(files, numbers)]
    text = newline.join(lines) + (newline if final_newline and lines else "")
    yield text.encode("utf-8")


def render_ferplus_csv(table: pd.DataFrame) -> Iterator[bytes]:
    """FERPlus's fer2013new.csv layout: Usage, Image name and the ten vote columns (rule in the module doc)."""
    kept = table[table["action"] != "remove"]
    votes = _ferplus_votes(kept)
    col_of = {try_normalize(c): j for j, c in enumerate(FERPLUS_VOTE_COLUMNS[:8])}
    col = kept["final_label"].map({lab: col_of.get(try_normalize(lab)) for lab in pd.unique(kept["final_label"])})
    if col.isna().any():
        i = int(np.flatnonzero(col.isna().to_numpy())[0])
        raise ExportError(f"sample {kept['sample_id'].iloc[i]}: label '{kept['final_label'].iloc[i]}' "
                          "is not a FERPlus class")
    col = col.astype(int).to_numpy()
    rows = np.arange(len(kept))
    top = votes.max(axis=1) if len(kept) else np.zeros(0, dtype=np.int64)
    agrees = (votes[rows, col] == top) & (top > 0) & ((votes == top[:, None]).sum(axis=1) == 1)
    redo = ~agrees
    totals = votes[redo].sum(axis=1)
    votes[redo] = 0
    votes[rows[redo], col[redo]] = np.where(totals > 0, totals, FERPLUS_ANNOTATORS)
    usage, names = _ferplus_usage(kept), _file_names(kept, FERPLUS_FILE_COLUMNS)
    refuse_formulas(kept, names, "file name")
    refuse_formulas(kept, usage, "Usage")
    out = pd.DataFrame({"Usage": usage, "Image name": names})
    for j, c in enumerate(FERPLUS_VOTE_COLUMNS):
        out[c] = votes[:, j]
    yield out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _ferplus_votes(table: pd.DataFrame) -> np.ndarray:
    lower = {c.lower(): c for c in table.columns}
    votes = np.zeros((len(table), len(FERPLUS_VOTE_COLUMNS)), dtype=np.int64)
    for j, c in enumerate(FERPLUS_VOTE_COLUMNS):
        names = [f"vote_{c}", f"vote_{try_normalize(c) or c}"] + (["vote_not_face", "vote_notface"] if c == "NF" else [])
        col = next((lower[n.lower()] for n in names if n.lower() in lower), None)
        if col is not None:
            v = pd.to_numeric(table[col].replace("", "0"), errors="coerce")
            if v.isna().any():
                i = int(np.flatnonzero(v.isna().to_numpy())[0])
                raise ExportError(f"sample {table['sample_id'].iloc[i]}: {col} '{table[col].iloc[i]}' is not a number")
            votes[:, j] = v.round().astype(np.int64).to_numpy()
    return votes


def _ferplus_usage(table: pd.DataFrame) -> list[str]:
    col = next((c for c in table.columns if c.lower() == "usage"), None)
    if col is not None:
        return table[col].astype(str).tolist()
    return [FERPLUS_USAGE.get(s, s) for s in table["split"].astype(str)]


def _file_names(table: pd.DataFrame, columns: Iterable[str], strip_aligned: bool = False) -> list[str]:
    """The dataset's own file name: a file column the importer kept, else the path's base name
    (for RAF-DB without its `_aligned` suffix: Image/aligned/x_aligned.jpg lists as x.jpg)."""
    col = next((c for c in columns if c in table.columns), None)
    if col is not None:
        return table[col].astype(str).tolist()
    names = []
    for p in table["path"].astype(str):
        name = p.replace("\\", "/").rsplit("/", 1)[-1]
        if strip_aligned:
            stem, dot, ext = name.rpartition(".")
            if stem.endswith("_aligned"):
                name = stem[: -len("_aligned")] + dot + ext
        names.append(name)
    return names


def _rafdb_options(dataset: Dataset | None) -> dict[str, Any]:
    """Line ending and final newline as the imported list had them: dataset.json's extra.rafdb_list
    ({newline, final_newline}) if recorded, else read off the list the import names (extra.list)."""
    extra = (dataset.info.extra or {}) if dataset is not None else {}
    opts = extra.get("rafdb_list") if isinstance(extra.get("rafdb_list"), dict) else {}
    if not opts and isinstance(extra.get("list"), str) and Path(extra["list"]).is_file():
        with open(extra["list"], "rb") as f:
            head = f.read(1 << 16)
            f.seek(max(0, f.seek(0, os.SEEK_END) - 2))
            tail = f.read()
        newline = "\r\n" if b"\r\n" in head else "\n"
        opts = {"newline": newline, "final_newline": tail.endswith(newline.encode())}
    return {k: opts[k] for k in ("newline", "final_newline") if k in opts}


# -- writing ---------------------------------------------------------------------------------------
def _write(path: str | os.PathLike, chunks: Iterable[bytes]) -> Path:
    """Write the chunks to a temporary file beside `path`, fsync, and rename it into place."""
    path = Path(path)
    with atomic.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                for i in range(0, len(chunk), _CHUNK):
                    f.write(chunk[i:i + _CHUNK])
            f.flush()
            os.fsync(f.fileno())
    return path


def export_csv(table: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Write the corrected CSV (csv_table: label = corrected label, removed rows dropped, neutralised)."""
    return _write(out, render_csv(table))


def export_rafdb_list(table: pd.DataFrame, out: str | os.PathLike, dataset: Dataset | None = None, *,
                      newline: str | None = None, final_newline: bool | None = None) -> Path:
    """Write a RAF-DB label list; line ending and final newline default to the imported list's."""
    opts = _rafdb_options(dataset)
    if newline is not None:
        opts["newline"] = newline
    if final_newline is not None:
        opts["final_newline"] = final_newline
    return _write(out, render_rafdb_list(table, **opts))


def export_ferplus_csv(table: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Write a FERPlus-style CSV (Usage, Image name, ten vote columns)."""
    return _write(out, render_ferplus_csv(table))


def corrected_manifest(table: pd.DataFrame) -> pd.DataFrame:
    """The manifest to retrain on: label = final label, removed rows dropped, the pre-audit label and
    the decision kept as `label_before_audit` and `audit_action` (source_label/true_label untouched)."""
    kept = table[table["action"] != "remove"].copy()
    kept["label"] = kept["final_label"]
    kept["label_before_audit"] = kept["original_label"]
    kept["audit_action"] = kept["action"]
    kept = kept.drop(columns=DECISION_COLUMNS)
    kept = kept.rename(columns={f"manifest_{c}": c for c in DECISION_COLUMNS if f"manifest_{c}" in kept.columns})
    return kept.reset_index(drop=True)


def _export_info(dataset: Dataset, table: pd.DataFrame, image_root: str, audit_info: dict | None):
    counts = table["action"].replace("", "undecided").value_counts().to_dict()
    extra = dict(dataset.info.extra or {})
    extra["audit_export"] = {**(audit_info or {}), "dataset": str(Path(dataset.root).resolve()),
                             "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             "decisions": {k: int(v) for k, v in sorted(counts.items())}}
    return replace(dataset.info, image_root=image_root, counts={}, name="",
                   source=str(Path(dataset.root).resolve()), extra=extra)


def export_manifest(table: pd.DataFrame, dataset: Dataset, out_dir: str | os.PathLike, *,
                    audit_info: dict | None = None) -> Path:
    """Write a dataset folder to train on. image_root stays absolute if it was; a relative one is
    rewritten relative to the new folder so every path still resolves to the same image."""
    out = Path(out_dir)
    if out.resolve() == Path(dataset.root).resolve():
        raise ExportError(f"{out}: refusing to overwrite the dataset being exported; choose another folder")
    src = dataset.image_root
    root = str(src)
    fresh = not out.exists()
    with atomic.created_folders(out):            # a failed export leaves no folder it made behind
        try:
            if not Path(dataset.info.image_root).is_absolute():
                try:
                    root = os.path.relpath(src, out.resolve())
                except ValueError:                # another drive (Windows): keep it absolute
                    root = str(src)
            return write_dataset(out, corrected_manifest(table), _export_info(dataset, table, root, audit_info))
        except BaseException:
            if fresh:                             # nothing of a half-written new folder stays
                for name in (MANIFEST, REPORT, INFO):
                    (out / name).unlink(missing_ok=True)
            raise


def render_manifest_zip(table: pd.DataFrame, dataset: Dataset, *, audit_info: dict | None = None) -> Iterator[bytes]:
    """A zip of manifest.csv and dataset.json (image_root absolute, as it is opened elsewhere)."""
    info = _export_info(dataset, table, str(dataset.image_root), audit_info)
    manifest = corrected_manifest(table)
    info.counts = {"imported": int(len(manifest)), "read": int(len(manifest)), "rejected": 0}
    info.name = f"{Path(dataset.root).name}-corrected"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(MANIFEST, manifest.to_csv(index=False, lineterminator="\n"))
        z.writestr("dataset.json", json.dumps(asdict(info), indent=2, default=str) + "\n")
    yield buf.getvalue()


def export_bytes(kind: str, table: pd.DataFrame, dataset: Dataset | None = None, **opts: Any) -> bytes:
    """The file a download button offers: the same bytes `export` writes (manifest: a zip)."""
    if kind == "manifest":
        if dataset is None:
            raise ExportError("a manifest export needs the dataset")
        return b"".join(render_manifest_zip(table, dataset, **opts))
    if kind == "rafdb":
        return b"".join(render_rafdb_list(table, **{**_rafdb_options(dataset), **opts}))
    if kind not in _FILE_RENDERERS:
        raise ExportError(f"unknown export format '{kind}' (one of: {', '.join(FORMATS)})")
    return b"".join(_FILE_RENDERERS[kind](table))


_FILE_RENDERERS: dict[str, Callable[..., Iterator[bytes]]] = {"csv": render_csv, "ferplus": render_ferplus_csv}
DOWNLOAD_NAMES = {"csv": "corrected_labels.csv", "manifest": "corrected_manifest.zip",
                  "rafdb": "list_patition_label.txt", "ferplus": "fer2013new.csv"}
BESIDE_NAMES = {"csv": "{name}-corrected.csv", "manifest": "{name}-corrected",
                "rafdb": "{name}-corrected-list_patition_label.txt", "ferplus": "{name}-corrected-fer2013new.csv"}


# -- destinations that would destroy what the export reads --------------------------------------------
def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.fspath(path)))


def _guarded_paths(dataset: Dataset, audit: str | os.PathLike | None,
                   runs: Iterable[str | os.PathLike]) -> tuple[dict[Path, str], dict[Path, str]]:
    """(files, folders) an export reads or owns, as real paths -> what they are (for the message)."""
    from eac_core.rundir import FILES, RunDir      # the run directory's layout lives in its contract module
    files: dict[Path, str] = {}
    folders: dict[Path, str] = {}
    root = Path(dataset.root)
    folders[_real(root)] = "the dataset folder"
    for name in (MANIFEST, INFO, REPORT):
        files[_real(root / name)] = f"the dataset's {name}"
    extra = dataset.info.extra or {}
    for source in (dataset.info.source, extra.get("list"), extra.get("noisy_list")):
        if isinstance(source, str) and source and Path(source).is_file():
            files[_real(source)] = "the file the dataset was imported from"
    for r in runs:
        run = RunDir(r)
        folders[_real(run.path)] = "the run folder"
        for key, name in FILES.items():
            (folders if key in ("history", "cache") else files)[_real(run.path_of(key))] = f"the run's {name}"
    if audit is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            files[_real(f"{os.fspath(audit)}{suffix}")] = "the audit database"
    return files, folders


def check_destination(kind: str, out: str | os.PathLike, dataset: Dataset, *,
                      audit: str | os.PathLike | None = None, runs: Iterable[str | os.PathLike] = ()) -> None:
    """ExportError when writing `out` would overwrite (or `out` is a folder holding) the audit database,
    a file of the run, the dataset folder or its files, the file it was imported from, or one of its
    images. Symlinks are followed, so a link to the audit is refused too."""
    files, folders = _guarded_paths(dataset, audit, runs)
    real = _real(out)
    written = [real / n for n in (MANIFEST, INFO, REPORT)] if kind == "manifest" else [real]
    guarded = {**files, **folders}
    for target in [real, *written]:
        what = guarded.get(target)
        if what is None:
            holder = next((p for p in guarded if target in p.parents), None)
            inside = next((p for p in folders if p in target.parents and p.name in ("history", "cache")), None)
            what = (f"a folder holding {guarded[holder]}" if holder is not None and target == real
                    else guarded[inside] if inside is not None else None)
        if what is None:
            image_root = _real(dataset.image_root)
            if image_root in target.parents:
                rel = target.relative_to(image_root).as_posix()
                if (dataset.manifest["path"].astype(str).str.replace("\\", "/", regex=False) == rel).any():
                    what = "one of the dataset's images"
        if what is not None:
            raise ExportError(f"{out}: is {what}; refusing to overwrite it (choose another --out)")


def export(kind: str, table: pd.DataFrame, dataset: Dataset, out: str | os.PathLike, *,
           audit_info: dict | None = None, audit: str | os.PathLike | None = None,
           runs: Iterable[str | os.PathLike] = ()) -> Path:
    """Write one export format to `out` (a file; a folder for `manifest`). `audit` and `runs` name the
    audit database and run folders this export reads: they are refused as destinations, like the dataset."""
    if kind not in FORMATS:
        raise ExportError(f"unknown export format '{kind}' (one of: {', '.join(FORMATS)})")
    out = Path(out)
    runs = list(runs) + ([Path(audit).parent] if audit is not None else [])
    check_destination(kind, out, dataset, audit=audit, runs=runs)
    if kind == "manifest":
        return export_manifest(table, dataset, out, audit_info=audit_info)
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give a file name for the {kind} export")
    if kind == "rafdb":
        return export_rafdb_list(table, out, dataset)
    return _write(out, _FILE_RENDERERS[kind](table))


def write_beside_dataset(kind: str, table: pd.DataFrame, dataset: Dataset, *,
                         audit_info: dict | None = None) -> Path:
    """Write an export next to the dataset folder: `<parent>/<name>-corrected...`."""
    root = Path(dataset.root).resolve()
    if kind not in BESIDE_NAMES:
        raise ExportError(f"unknown export format '{kind}' (one of: {', '.join(FORMATS)})")
    return export(kind, table, dataset, root.parent / BESIDE_NAMES[kind].format(name=root.name),
                  audit_info=audit_info)


# -- from an audit file (the CLI, and the app when it has only paths) -------------------------------
def _runs_of(audit: Audit, meta: dict[str, str]):
    """Run folders that may hold the audit's scores: the audit's own folder, then the run recorded in
    its meta (an absolute `run_path` since audits record it; older ones name the run in `run`)."""
    from eac_core.rundir import RunDir      # the run directory's layout lives in its contract module
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


def main(args: argparse.Namespace) -> int:
    audit, dataset, decisions, scores = load_audit_inputs(args.audit, args.dataset, args.scores)
    unmatched = unmatched_decisions(dataset, decisions)
    if unmatched:
        print(f"warning: {len(unmatched)} decision(s) name samples not in {dataset.root} and are not "
              f"exported (first: {unmatched[0]})", file=sys.stderr)
    table = corrected_table(dataset, decisions, scores)
    meta = audit.meta()
    info = {"audit": str(audit.path.resolve()), "run": meta.get("run", "")}
    out = export(args.format, table, dataset, args.out, audit_info=info, audit=audit.path,
                 runs=[r.path for r in _runs_of(audit, meta)])
    total = changes_summary(table).iloc[-1]
    print(f"wrote {out}: {int(total['after'])} of {int(total['before'])} samples "
          f"(relabelled {int(total['relabel_from'])}, removed {int(total['remove'])}, kept {int(total['keep'])}, "
          f"unsure {int(total['unsure'])}, undecided {int(total['undecided'])})")
    return 0
