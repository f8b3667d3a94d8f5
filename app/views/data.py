"""The Data page: import a dataset (any data_tools importer, from a folder under the allowed roots),
then its validation report, class balance and a grid of samples per class."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import workflows
from app.components import charts, display_ids, loaders, ui
from app.components.project import allowed_roots, dataset_dirs
from data_tools import issues

GRID_PER_CLASS = 10


def render() -> None:
    st.header("Data")
    _import_form()
    dsets = dataset_dirs()
    if not dsets:
        ui.empty_state("No dataset yet", "Import one above (its folder must be under an allowed root; add roots in "
                       "Settings), or start the demo on the Review page.", link=("review", "Go to Review"))
        return
    names = [d.name for d in dsets]
    run = ui.current_run(picker=False)
    run_ds = loaders.run_dataset_dir(run) if run is not None else None
    default = names.index(run_ds.name) if run_ds is not None and run_ds.name in names else 0
    name = st.selectbox("Dataset", names, index=default, key="data_dataset")
    _show(next(d for d in dsets if d.name == name))


def _formats() -> dict[str, str]:
    from data_tools.importers import FORMATS
    return {k: str(getattr(m, "HELP", "")) for k, m in FORMATS.items()}


def _import_form() -> None:
    with st.expander("Import a dataset", expanded=not dataset_dirs()):
        fmts = _formats()
        with st.form("import_form"):
            c1, c2 = st.columns([1, 2])
            fmt = c1.selectbox("Format", list(fmts), key="imp_format", format_func=lambda k: k,
                               help="\n".join(f"- **{k}**: {v}" for k, v in fmts.items()))
            root = c2.text_input("Dataset folder (as distributed)", key="imp_root",
                                 placeholder="/data/RAF-DB/basic")
            c3, c4, c5 = st.columns(3)
            name = c3.text_input("Name (folder under datasets/)", key="imp_name", placeholder="rafdb")
            csv = c4.text_input("Label CSV, relative to the folder (optional)", key="imp_csv")
            classes = c5.text_input("Class list (optional, comma-separated)", key="imp_classes")
            st.caption("Column names of the label CSV (format **csv**; empty: the importer's defaults, as "
                       "`--path-col`, `--label-col`, `--split-col` on the command line)")
            c6, c7, c8 = st.columns(3)
            columns = {"path_col": c6.text_input("Path column", key="imp_path_col", placeholder="path"),
                       "label_col": c7.text_input("Label column", key="imp_label_col", placeholder="label"),
                       "split_col": c8.text_input("Split column (optional)", key="imp_split_col",
                                                  placeholder="split")}
            go = st.form_submit_button("Import", type="primary")
        st.caption("Allowed data roots: " + ", ".join(ui.md_code(r) for r in allowed_roots())
                   + ". Add more in Settings.")
        if go:
            st.session_state.pop(PENDING_REPLACE, None)
            run_import(fmt, root, name, csv=csv, classes=classes, columns=columns)
        _confirm_replace()
    _predictions_form()


PENDING_REPLACE = "imp_pending_replace"   # an import refused because its name holds a dataset


def _confirm_replace() -> None:
    """Issue 22: an import under the name of an existing dataset asks before replacing it. The
    question stays until answered; 'Replace' runs the same import with --replace (written beside the
    old dataset, swapped in only when it succeeds)."""
    pending = st.session_state.get(PENDING_REPLACE)
    if not pending:
        return
    slot = st.empty()
    with slot.container():
        st.warning(ui.md_escape(pending["message"]) + " Replace it with this import?")
        c1, c2 = st.columns(2)
        replace = c1.button(f"Replace datasets/{ui.md_escape(pending['name'])}", key="imp_replace", type="primary")
        keep = c2.button("Keep it", key="imp_keep")
    if replace or keep:
        st.session_state.pop(PENDING_REPLACE, None)
        slot.empty()
    if replace:
        run_import(**pending["args"], replace=True)


def _predictions_form() -> None:
    """Issue 11 item 8: a run from the user's own out-of-sample probabilities (no training here)."""
    dsets = dataset_dirs()
    with st.expander("Import your own predictions (no training)"):
        st.caption("A CSV or Parquet file with `sample_id` and one probability column per class "
                   "(`prob_<class>` or `<class>`; each row sums to 1), ideally out-of-sample (K-fold), and "
                   "optional `emb_*` embedding columns. The faces are ranked by cleanlab's label-quality "
                   "score; the Review page shows no activation maps (there is no model).")
        if not dsets:
            st.info("Import the dataset first.")
            return
        with st.form("pred_form"):
            c1, c2, c3 = st.columns([1, 2, 1])
            dataset = c1.selectbox("Dataset", [d.name for d in dsets], key="pred_dataset")
            probs = c2.text_input("Predictions file (CSV or Parquet, under an allowed root)", key="pred_file")
            name = c3.text_input("Run name (optional)", key="pred_name")
            go = st.form_submit_button("Import predictions", type="primary")
        if go:
            with st.spinner("Importing the predictions…"):
                try:
                    run, last_line = workflows.import_predictions(dataset, probs, name)
                except workflows.WorkflowError as e:
                    st.error(ui.md_escape(e))
                    return
            st.success(f"Run {ui.md_escape(run.name)} written. " + ui.md_escape(last_line))
            st.page_link(ui.PAGES["review"], label="Review it", icon=":material/fact_check:",
                         query_params={"run": run.name})


def run_import(fmt: str, root: str, name: str, *, csv: str = "", classes: str = "",
               columns: dict[str, str] | None = None, replace: bool = False) -> Path | None:
    """app.workflows.import_dataset with a spinner; its refusal or failure shown as an error. A name
    that holds a dataset is not replaced: the question is asked (`_confirm_replace`)."""
    with st.spinner(f"Importing {ui.md_escape(root)} as {fmt}…"):
        try:
            out, last_line = workflows.import_dataset(fmt, root, name, csv=csv, classes=classes, columns=columns,
                                                      replace=replace)
        except workflows.DatasetExists as e:
            st.session_state[PENDING_REPLACE] = {
                "name": e.name, "message": str(e),
                "args": {"fmt": fmt, "root": root, "name": name, "csv": csv, "classes": classes,
                         "columns": dict(columns or {})}}
            return None
        except workflows.WorkflowError as e:
            st.error(ui.md_escape(e))
            return None
    st.success(f"Imported into datasets/{ui.md_escape(out.name)}. " + ui.md_escape(last_line))
    st.session_state["data_dataset"] = out.name
    return out


def _show(ds_dir: Path) -> None:
    try:
        dataset = loaders.load_dataset(ds_dir)
    except Exception as e:  # noqa: BLE001 - a broken folder is reported, not raised
        st.error(f"{ui.md_escape(ds_dir.name)} is not a valid dataset folder: {ui.md_escape(e)}")
        return
    m = dataset.manifest
    info = dataset.info                 # dataset.json, checked by the manifest module
    counts = info.counts or {}
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Images", f"{len(m):,}")
    c2.metric("Classes", len(dataset.classes))
    c3.metric("Rejected on import", f"{int(counts.get('rejected', 0)):,}")
    c4.metric("Format", ui.md_escape(info.format or "?"))      # a metric value is markdown too
    st.caption(f"Image root: {ui.md_code(dataset.image_root)} · source: {ui.md_code(info.source)}")
    extra = [c for c in m.columns if c.startswith("vote_")] + [c for c in ("true_label", "source_label", "group")
                                                              if c in m.columns]
    if extra:
        st.caption("Extra columns: " + ", ".join(map(ui.md_escape, extra)))
    st.plotly_chart(charts.class_balance(m, dataset.classes), key="data_balance")

    report = loaders.read_report(ds_dir)
    st.subheader("Validation report", anchor=False)
    if report.empty:
        st.success("Every row that was read was imported.")
    else:
        reasons = report["reason"].value_counts().rename_axis("reason").reset_index(name="rows")
        st.warning(f"{len(report):,} row(s) were not imported.")
        st.dataframe(reasons, hide_index=True, key="data_reasons")
        with st.expander("Every rejected row"):
            st.dataframe(report, hide_index=True, key="data_report")
    _image_issues(ds_dir)

    st.subheader("Samples per class", anchor=False)
    split = st.radio("Split", ["train", "val", "test"], horizontal=True, key="data_grid_split")
    sub = m[m["split"] == split]
    shown = display_ids.shown_for(dataset)       # no class name from the id where the truth is known (issue 24)
    for c in dataset.classes:
        rows = sub[sub["label"] == c].head(GRID_PER_CLASS)
        st.markdown(f"**{ui.md_escape(c)}** · {int((sub['label'] == c).sum()):,} in {split}")
        imgs, caps = [], []
        for sid, rel in zip(rows["sample_id"], rows["path"]):
            try:
                png = loaders.thumbnail(loaders.image_file(dataset, rel), 72)
            except ValueError:
                png = None
            if png:
                imgs.append(png)
                caps.append(ui.md_escape(shown(sid)))       # a caption is markdown: the id as typed
        if imgs:
            st.image(imgs, width=72, caption=caps)
        else:
            st.caption("no images")


def _image_issues(ds_dir: Path) -> None:
    """Counts per issue type of the dataset's issues.parquet (written by the import), and the groups
    to look at first: label conflicts and train/test leaks."""
    st.subheader("Image issues", anchor=False)
    found = issues.issue_counts(ds_dir)
    if found is None:
        st.caption("Not computed for this dataset (imported before image issues existed, or with labels only): "
                   f"{ui.md_code(f'python -m data_tools issues --dataset {ds_dir}')}")
        return
    if not any(found.values()):
        st.success("No duplicates, leaks or unusable images found.")
        return
    st.dataframe(pd.DataFrame({"issue": list(found), "images": list(found.values())}), hide_index=True,
                 key="data_issue_counts")
    first = issues.issue_groups(ds_dir, ("label_conflict", "split_leak"))
    if len(first):
        st.warning(f"{found['label_conflict']:,} image(s) in duplicate groups with different labels, "
                   f"{found['split_leak']:,} in groups spanning splits (first groups below).")
        st.dataframe(first, hide_index=True, key="data_issue_groups")


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Data page"):
        render()
