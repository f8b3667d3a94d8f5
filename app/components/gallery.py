"""The gallery's pure functions (no streamlit): which metadata columns a dataset offers as filters and
the faces that match the filters (the decisions of one action on a selection: app.components.batch)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CONTRACT = {"sample_id", "path", "label", "split", "source_label", "true_label"}
MAX_LEVELS = 30          # a metadata column with more distinct values is not offered as a filter


def metadata_columns(manifest: pd.DataFrame) -> dict[str, list]:
    """Metadata columns worth filtering on (`group` and the dataset's own columns, not the contract's
    or annotator votes), each with its sorted distinct values; columns with one value or more than
    MAX_LEVELS values are left out."""
    out: dict[str, list] = {}
    for c in manifest.columns:
        if c in CONTRACT or c.startswith("vote_"):
            continue
        vals = manifest[c].dropna().unique()
        if 1 < len(vals) <= MAX_LEVELS:
            out[c] = sorted(vals.tolist(), key=lambda v: (str(type(v)), v))
    return out


@dataclass
class GalleryFilter:
    given: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    status: str = "undecided"                              # all / undecided / decided
    metadata: dict[str, list] = field(default_factory=dict)   # column -> accepted values (empty: any)
    only: set[str] | None = None                           # a selection on the embedding map
    issues: list[str] = field(default_factory=list)        # issue types (data_tools.issues.by_sample); empty = any
    issue_ids: set[str] | None = None                      # the faces that have one of `issues` (set by the page)


def gallery_faces(scores: pd.DataFrame, manifest: pd.DataFrame | None, decided: set[str],
                  f: GalleryFilter) -> pd.DataFrame:
    """The faces that pass the filter, most suspicious first (sample_id, label, pred, suspicion, rank)."""
    cols = [c for c in ("sample_id", "label", "pred", "suspicion", "rank") if c in scores.columns]
    df = scores[cols]
    mask = np.ones(len(df), dtype=bool)
    if f.given:
        mask &= df["label"].isin(f.given).to_numpy()
    if f.predicted:
        mask &= df["pred"].isin(f.predicted).to_numpy()
    if f.status != "all":
        is_decided = df["sample_id"].isin(decided).to_numpy()
        mask &= is_decided if f.status == "decided" else ~is_decided
    if f.only is not None:
        mask &= df["sample_id"].isin(f.only).to_numpy()
    if f.issue_ids is not None:
        mask &= df["sample_id"].astype(str).isin(f.issue_ids).to_numpy()
    wanted = {c: v for c, v in f.metadata.items() if v}
    if wanted and manifest is not None:
        meta = manifest.drop_duplicates("sample_id").set_index("sample_id")
        for c, values in wanted.items():
            ok = set(meta.index[meta[c].isin(values)]) if c in meta.columns else set()
            mask &= df["sample_id"].isin(ok).to_numpy()
    out = df[mask]
    return out.sort_values("rank", kind="stable") if "rank" in out.columns else out
