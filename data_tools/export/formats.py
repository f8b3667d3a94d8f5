"""The format writers: a corrected CSV, a manifest to retrain on, RAF-DB's list, FERPlus CSV.

Each renderer yields the bytes of one file from the corrected table (data_tools.export.table); each
`export_*` writes them to a temporary name in the destination's folder and renames it into place
(data_tools.atomic), so an interrupted export keeps the previous file. `export_bytes` is what a download
button offers: the same bytes.

FERPlus votes rule: a row keeps its vote counts when their plurality (a unique maximum over the ten
columns) already names its final label, so an unchanged dataset round-trips and relabelling a noisy
label back to the annotators' choice restores the original votes. Otherwise (a relabel, or a label that
noise injection changed) all of the row's votes go to the final label and every other column, unknown
and NF included, becomes 0: the total is kept (10 without votes), and every FERPlus label mode
(majority, plurality, probability, cross-entropy) then reads the reviewer's label."""
from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from data_tools import atomic
from data_tools.classes import FERPLUS_VOTE_COLUMNS, RAFDB_ORDER, try_normalize
from data_tools.export.errors import ExportError
from data_tools.export.formulas import neutralize_frame, refuse_formulas
from data_tools.export.table import DECISION_COLUMNS
from data_tools.manifest import INFO, LINE_BREAKS, MANIFEST, REPORT, Dataset, write_dataset

FORMATS = ("csv", "manifest", "rafdb", "ferplus")
FERPLUS_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FERPLUS_ANNOTATORS = 10          # votes given to the final label of a row that has no vote columns
RAFDB_FILE_COLUMNS = ("file", "source_file")          # where an importer may keep the list's file name
FERPLUS_FILE_COLUMNS = ("image_name", "file", "source_file")
_CHUNK = 1 << 20


CSV_DECISION_COLUMNS = ["original_label", "action", "suspicion", "decided_at", "reviewer", "note", "reviewers",
                        "agreement"]


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
    _refuse_white_space(kept, files)
    lines = [f"{f} {n}" for f, n in zip(files, numbers)]
    text = newline.join(lines) + (newline if final_newline and lines else "")
    yield text.encode("utf-8")


def _refuse_white_space(table: pd.DataFrame, files: list[str]) -> None:
    """ExportError naming the first sample whose file name holds white space: the RAF-DB list is one
    `<file> <label>` per line, so a space splits the name and a line break forges a row (issue 22)."""
    for sid, name in zip(table["sample_id"], files):
        ch = next((c for c in name if c.isspace()), None)
        if ch is not None:
            what = "a space" if ch == " " else "a line break" if ch in LINE_BREAKS else "white space"
            raise ExportError(f"sample {sid}: file name {name!r} contains {what} (U+{ord(ch):04X}), which the "
                              "RAF-DB list ('<file> <label>' per line) cannot hold; rename the file, or export "
                              "--format csv or manifest")


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
    """The manifest to retrain on: label = final label, removed rows dropped, the pre-audit label, the
    decision, who decided and whether they agreed kept as `label_before_audit`, `audit_action`,
    `audit_reviewers` and `audit_agreement` (source_label/true_label untouched)."""
    kept = table[table["action"] != "remove"].copy()
    kept["label"] = kept["final_label"]
    kept["label_before_audit"] = kept["original_label"]
    kept["audit_action"] = kept["action"]
    kept["audit_reviewers"] = kept["reviewers"]
    kept["audit_agreement"] = kept["agreement"]
    kept = kept.drop(columns=DECISION_COLUMNS)
    kept = kept.rename(columns={f"manifest_{c}": c for c in DECISION_COLUMNS if f"manifest_{c}" in kept.columns})
    return kept.reset_index(drop=True)


def _export_info(dataset: Dataset, table: pd.DataFrame, image_root: str, audit_info: dict | None):
    counts = table["action"].replace("", "undecided").value_counts().to_dict()
    agreement = table["agreement"].value_counts().to_dict() if "agreement" in table.columns else {}
    extra = dict(dataset.info.extra or {})
    extra["audit_export"] = {**(audit_info or {}), "dataset": str(Path(dataset.root).resolve()),
                             "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             "decisions": {k: int(v) for k, v in sorted(counts.items())},
                             "agreement": {k: int(agreement.get(k, 0)) for k in ("agreed", "disagreed")}}
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
