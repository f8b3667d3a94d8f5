"""The Export page: what changed, downloads (corrected CSV, the dataset's own format, a manifest), a copy
written next to the dataset, and a retrain on the corrected labels with the audit carried over."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import jobs, workflows
from app.components import loaders, training, ui
from data_tools.manifest import INFO
from data_tools.rundir import RunDir

OWN_FORMATS = {"rafdb": "rafdb", "ferplus": "ferplus"}   # dataset format -> export kind
LABEL_FILE_KINDS = ("rafdb", "ferplus")                  # what `data_tools export --format` writes for any dataset


def _label_file_downloads(col, ex, table, dataset) -> list[str]:
    """The RAF-DB list and the FERPlus CSV, as `python -m data_tools export --format rafdb|ferplus` writes
    them for any dataset whose labels they can hold (issue 24 item 5: the page said the demo "has no
    label file format of its own"), the dataset's own format first. One that cannot hold this dataset
    says why: a warning for the dataset's own format, a caption for the others. Returns the kinds offered."""
    own = OWN_FORMATS.get(dataset.info.format)
    offered = []
    for kind in sorted(LABEL_FILE_KINDS, key=lambda k: k != own):
        try:
            data = ex.export_bytes(kind, table, dataset)
        except ex.ExportError as e:     # a label it cannot number, a file name a spreadsheet would run
            (col.warning if kind == own else col.caption)(f"No {kind} download: {ui.md_escape(e)}")
        else:
            col.download_button(f"Download {kind} format", data=data, file_name=ex.DOWNLOAD_NAMES[kind],
                                key=f"dl_{kind}", icon=":material/description:", on_click="ignore")
            offered.append(kind)
    return offered


def render() -> None:
    st.header("Export corrected labels")
    run = ui.current_run()
    if run is None:
        ui.empty_state("Nothing to export yet", "Decisions are exported from a run's audit. Start the demo or "
                       "train a run first, then review some faces.", link=("review", "Go to Review"))
        return
    ds_dir = loaders.run_dataset_dir(run)
    if ds_dir is None or not (ds_dir / INFO).is_file():
        st.warning(f"Run {ui.md_escape(run.name)} names no readable dataset yet (training may still be starting).")
        return
    dataset = loaders.load_dataset(ds_dir)
    audit = ui.audit_for(run, ds_dir, dataset.classes)
    latest = audit.latest()
    scores = loaders.load_scores(run)
    from data_tools import export as ex
    table = ex.corrected_table(dataset, latest, scores, audit.events())     # events: who decided, agreed
    st.caption(f"Run **{ui.md_escape(run.name)}** · dataset **{ui.md_escape(ds_dir.name)}** · {len(latest):,} decision(s) in the audit")
    unmatched = ex.unmatched_decisions(dataset, latest)
    if unmatched:
        st.warning(f"{len(unmatched)} decision(s) name samples that are not in the dataset and are left out: "
                   + ", ".join(map(ui.md_escape, unmatched[:10])) + (" …" if len(unmatched) > 10 else ""))

    st.subheader("What changed", anchor=False)
    summary = ex.changes_summary(table, dataset.classes)
    st.dataframe(summary, hide_index=True, key="export_summary")
    counts = latest["action"].value_counts().to_dict() if not latest.empty else {}
    st.markdown(" · ".join(f"**{a}** {counts.get(a, 0):,}" for a in ("keep", "relabel", "remove", "unsure")))

    st.subheader("Download", anchor=False)
    audit_info = {"audit": str(audit.path), "run": run.name}
    c1, c2, c3 = st.columns(3)
    # the files are built when a button is clicked (a callable runs then, on its own thread), not while
    # the page renders: the manifest zip took 3.1 s and held up navigation (issue 11 item 11). A download
    # does not rerun the page (on_click="ignore"): nothing on it changes, and the rerun (audit, scores and
    # the corrected table read again) would run beside the file's own request.
    c1.download_button("Download corrected CSV", data=lambda: ex.export_bytes("csv", table),
                       file_name=ex.DOWNLOAD_NAMES["csv"], mime="text/csv", key="dl_csv",
                       icon=":material/table:", on_click="ignore")
    label_files = _label_file_downloads(c2, ex, table, dataset)
    c3.download_button("Download manifest (zip)",
                       data=lambda: ex.export_bytes("manifest", table, dataset, audit_info=audit_info),
                       file_name=ex.DOWNLOAD_NAMES["manifest"], mime="application/zip", key="dl_manifest",
                       icon=":material/folder_zip:", on_click="ignore")

    st.subheader("Write a copy next to the dataset", anchor=False)
    kinds = ["csv", "manifest"] + label_files
    kind = st.radio("Format", kinds, horizontal=True, key="beside_kind",
                    format_func=lambda k: {"csv": "review CSV", "manifest": "dataset folder to train on",
                                           "rafdb": "RAF-DB list", "ferplus": "FERPlus CSV"}[k])
    target = Path(dataset.root).resolve().parent / ex.BESIDE_NAMES[kind].format(name=Path(dataset.root).name)
    st.caption(f"Writes {ui.md_code(target)}")
    if st.button("Write copy", key="write_beside"):
        try:
            path = ex.write_beside_dataset(kind, table, dataset, audit_info=audit_info)
        except (ValueError, OSError) as e:
            st.error(f"Not written: {ui.md_escape(e)}")
        else:
            st.success(f"Written: {ui.md_code(path)}")

    _retrain(run, dataset, table, audit, audit_info)


def _retrain(run: RunDir, dataset, table: pd.DataFrame, audit, audit_info: dict) -> None:
    st.subheader("Retrain on the corrected labels", anchor=False)
    children = workflows.retrained_from(run)
    st.caption("Writes the corrected dataset under datasets/, trains a new run with this run's settings, "
               "and carries the audit over (decisions are keyed by sample id).")
    if st.button("Retrain on corrected labels", key="retrain", icon=":material/replay:",
                 disabled=table["action"].eq("").all()):
        try:
            new_run = workflows.retrain_from_audit(run, dataset, table, audit, audit_info)
        except (ValueError, RuntimeError, OSError) as e:
            st.error(f"Retraining not started: {ui.md_escape(e)}")
        else:
            st.toast(f"Retraining started: {ui.md_escape(new_run.name)}", icon=":material/rocket_launch:")
            children = workflows.retrained_from(run)
    if table["action"].eq("").all():
        st.caption("No decisions yet: review some faces first.")
    old_acc = run.final_test_acc()
    for child in children:
        st.markdown(f"**{ui.md_escape(child.name)}**")
        new_acc = child.final_test_acc()
        active = jobs.is_active(child)
        c1, c2 = st.columns(2)
        c1.metric("Test accuracy, original run", f"{old_acc:.1%}" if old_acc is not None else "–")
        if new_acc is not None:
            c2.metric("Test accuracy, corrected run" + (" (so far)" if active else ""), f"{new_acc:.1%}",
                      delta=f"{(new_acc - old_acc) * 100:+.1f} points" if old_acc is not None else None)
        else:
            c2.metric("Test accuracy, corrected run", "training…" if active else "–")
        training.live_progress(child, key=f"retrain_{child.name}", curves=False)


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Export page"):
        render()
