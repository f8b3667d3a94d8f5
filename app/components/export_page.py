"""The Export page: what changed, downloads (corrected CSV, the dataset's own format, a manifest), a copy
written next to the dataset, and a retrain on the corrected labels with the audit carried over."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import streamlit as st

from app.components import jobs, loaders, training, ui
from app.components.project import datasets_dir

OWN_FORMATS = {"rafdb": "rafdb", "ferplus": "ferplus"}   # dataset format -> export kind


def render() -> None:
    st.header("Export corrected labels")
    run = ui.current_run()
    if run is None:
        ui.empty_state("Nothing to export yet", "Decisions are exported from a run's audit. Start the demo or "
                       "train a run first, then review some faces.", link=("review", "Go to Review"))
        return
    ds_dir = loaders.run_dataset_dir(run)
    if ds_dir is None or not (ds_dir / "dataset.json").is_file():
        st.warning(f"Run {run.name} names no readable dataset yet (training may still be starting).")
        return
    dataset = loaders.load_dataset(ds_dir)
    audit = ui.audit_for(run, ds_dir, dataset.classes)
    latest = audit.latest()
    scores = loaders.load_scores(run)
    from data_tools import export as ex
    table = ex.corrected_table(dataset, latest, scores)
    st.caption(f"Run **{run.name}** · dataset **{ds_dir.name}** · {len(latest):,} decision(s) in the audit")
    unmatched = ex.unmatched_decisions(dataset, latest)
    if unmatched:
        st.warning(f"{len(unmatched)} decision(s) name samples that are not in the dataset and are left out: "
                   + ", ".join(unmatched[:10]) + (" …" if len(unmatched) > 10 else ""))

    st.subheader("What changed", anchor=False)
    summary = ex.changes_summary(table, dataset.classes)
    st.dataframe(summary, hide_index=True, key="export_summary")
    counts = latest["action"].value_counts().to_dict() if not latest.empty else {}
    st.markdown(" · ".join(f"**{a}** {counts.get(a, 0):,}" for a in ("keep", "relabel", "remove", "unsure")))

    st.subheader("Download", anchor=False)
    audit_info = {"audit": str(audit.path), "run": run.name}
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download corrected CSV", data=ex.export_bytes("csv", table),
                       file_name=ex.DOWNLOAD_NAMES["csv"], mime="text/csv", key="dl_csv",
                       icon=":material/table:")
    own = OWN_FORMATS.get(dataset.info.format)
    if own:
        c2.download_button(f"Download {own} format", data=ex.export_bytes(own, table, dataset),
                           file_name=ex.DOWNLOAD_NAMES[own], key="dl_own", icon=":material/description:")
    else:
        c2.caption(f"The dataset was imported as **{dataset.info.format}**, which has no label file format "
                   "of its own: use the CSV or the manifest.")
    c3.download_button("Download manifest (zip)", data=ex.export_bytes("manifest", table, dataset, audit_info=audit_info),
                       file_name=ex.DOWNLOAD_NAMES["manifest"], mime="application/zip", key="dl_manifest",
                       icon=":material/folder_zip:")

    st.subheader("Write a copy next to the dataset", anchor=False)
    kinds = ["csv", "manifest"] + ([own] if own else [])
    kind = st.radio("Format", kinds, horizontal=True, key="beside_kind",
                    format_func=lambda k: {"csv": "review CSV", "manifest": "dataset folder to train on",
                                           "rafdb": "RAF-DB list", "ferplus": "FERPlus CSV"}[k])
    target = Path(dataset.root).resolve().parent / ex.BESIDE_NAMES[kind].format(name=Path(dataset.root).name)
    st.caption(f"Writes `{target}`")
    if st.button("Write copy", key="write_beside"):
        try:
            path = ex.write_beside_dataset(kind, table, dataset, audit_info=audit_info)
        except (ValueError, OSError) as e:
            st.error(f"Not written: {e}")
        else:
            st.success(f"Written: {path}")

    _retrain(run, dataset, ds_dir, table, audit, audit_info)


def _retrain(run: Path, dataset, ds_dir: Path, table: pd.DataFrame, audit, audit_info: dict) -> None:
    st.subheader("Retrain on the corrected labels", anchor=False)
    children = _children(run)
    st.caption("Writes the corrected dataset under datasets/, trains a new run with this run's settings, "
               "and carries the audit over (decisions are keyed by sample id).")
    if st.button("Retrain on corrected labels", key="retrain", icon=":material/replay:",
                 disabled=table["action"].eq("").all()):
        try:
            new_run = start_retrain(run, dataset, ds_dir, table, audit, audit_info)
        except (ValueError, RuntimeError, OSError) as e:
            st.error(f"Retraining not started: {e}")
        else:
            st.toast(f"Retraining started: {new_run.name}", icon=":material/rocket_launch:")
            children = _children(run)
    if table["action"].eq("").all():
        st.caption("No decisions yet: review some faces first.")
    old_acc = _final_acc(run)
    for child in children:
        st.markdown(f"**{child.name}**")
        new_acc = _final_acc(child)
        active = training.is_active(child)
        c1, c2 = st.columns(2)
        c1.metric("Test accuracy, original run", f"{old_acc:.1%}" if old_acc is not None else "–")
        if new_acc is not None:
            c2.metric("Test accuracy, corrected run" + (" (so far)" if active else ""), f"{new_acc:.1%}",
                      delta=f"{(new_acc - old_acc) * 100:+.1f} points" if old_acc is not None else None)
        else:
            c2.metric("Test accuracy, corrected run", "training…" if active else "–")
        training.live_progress(child, key=f"retrain_{child.name}", curves=False)


def start_retrain(run: Path, dataset, ds_dir: Path, table: pd.DataFrame, audit, audit_info: dict) -> Path:
    """Export the corrected manifest, launch training on it, copy the audit; returns the new run folder."""
    from data_tools import export as ex
    from data_tools.audit import Audit
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out_ds = datasets_dir() / f"{ds_dir.name}-corrected-{stamp}"
    ex.export("manifest", table, dataset, out_ds, audit_info=audit_info)
    cfg = loaders.load_config(run)
    opts = {k: cfg.get(k) for k in ("mode", "arch", "preset", "epochs", "image_size", "device") if cfg.get(k)}
    if cfg.get("pretrained"):
        opts["pretrained"] = cfg["pretrained"]
    new_run = training.launch_training(out_ds, name=f"{out_ds.name}-{opts.get('mode', 'eac')}",
                                       meta={"parent_run": run.name}, **opts)
    new_audit = Audit.open(new_run / "audit.sqlite", dataset=str(out_ds), run=new_run.name,
                           classes=list(dataset.classes))
    audit.copy_decisions_to(new_audit)
    return new_run


def _children(run: Path) -> list[Path]:
    """Runs retrained from this one (their job.json names it as parent)."""
    return [r for r in loaders.list_run_dirs() if (jobs.read_job(r) or {}).get("parent_run") == run.name]


def _final_acc(run: Path) -> float | None:
    s = loaders.load_summary(run)
    if s.empty or "test_acc" not in s.columns:
        return None
    v = pd.to_numeric(s["test_acc"], errors="coerce").dropna()
    return float(v.iloc[-1]) if len(v) else None
