"""The Insights page: suspicion per class, given-vs-predicted confusion, the estimated noise transition
matrix, training curves, the embedding map (click a point to open that face) and, when the truth is
known, how well the ranking and the reviewer's decisions find the wrong labels."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.components import charts, display_ids, loaders, metrics, ui
from app.components.decisions import GOTO
from eac_core import metrics as run_metrics
from eac_core import noise_share
from data_tools.rundir import RunDir

N_SUSPECTS = 0.1   # share of the ranking highlighted on the embedding map
MATRIX_CLASSES = 20   # above this many classes, matrices are shown as their largest off-diagonal pairs
TOP_PAIRS = 20


def render() -> None:
    st.header("Insights")
    run = ui.current_run()
    if run is None:
        ui.empty_state("No run yet", "Insights describe a trained run. Start the demo on the Review page or "
                       "train a run on the Train page.", link=("review", "Go to Review"))
        return
    scores = loaders.load_scores(run)
    summary = loaders.load_summary(run)
    if scores is None or scores.empty:
        st.info(f"Run **{ui.md_escape(run.name)}** has no scores yet; they appear after its first epoch.")
        if not summary.empty:
            st.plotly_chart(charts.curves(summary, mode=loaders.load_config(run).get("mode")), key="ins_curves_only")
        return
    classes = loaders.run_classes(run)
    if "provisional" in scores.columns and bool(scores["provisional"].any()):
        st.warning("These numbers come from a provisional ranking (training is not finished).", icon=":material/hourglass_top:")
    ui.score_notes(scores)
    mt = run.mtime("scores")

    tab_rank, tab_noise, tab_map, tab_truth = st.tabs(["Ranking", "Label noise", "Embedding map", "Against the truth"])
    with tab_rank:
        c1, c2 = st.columns(2)
        c1.plotly_chart(charts.suspicion_by_class(scores, classes), key="ins_susp")
        conf = run_metrics.confusion(scores["label"], scores["pred"], classes)
        if len(classes) > MATRIX_CLASSES:     # a K x K wall is unreadable: the most confused pairs instead
            with c2:
                _pairs(run_metrics.top_pairs(conf, classes, classes, TOP_PAIRS), "Most confused pairs: given → predicted",
                       "faces", ["given", "predicted", "faces", "share of the given class"], "d", "ins_conf")
        else:
            c2.plotly_chart(charts.matrix(conf, classes, classes, "Given vs predicted (counts)",
                                          x_title="predicted", y_title="given"), key="ins_conf")
        st.plotly_chart(charts.curves(summary, mode=loaders.load_config(run).get("mode")), key="ins_curves")
    with tab_noise:
        _noise(str(run), mt, scores, classes)
    with tab_map:
        _embedding(run, scores, classes)
    with tab_truth:
        _truth(run, scores, classes)


@st.cache_data(max_entries=4, show_spinner="Estimating the noise matrix…")
def _joint(run: str, mt: float, _scores: pd.DataFrame, classes: tuple[str, ...]) -> np.ndarray:
    return run_metrics.noise_joint(_scores, list(classes))


def _noise(run: str, mt: float, scores: pd.DataFrame, classes: list[str]) -> None:
    try:
        joint = _joint(run, mt, scores, tuple(classes))
    except (ValueError, IndexError) as e:
        st.info(f"The noise matrix cannot be estimated for this run: {ui.md_escape(e)}")
        return
    trans = run_metrics.noise_transition(joint)
    c1, c2 = st.columns(2)
    if len(classes) > MATRIX_CLASSES:
        with c1:         # pairs (true -> given) by their share of all labels; the joint's transpose
            _pairs(run_metrics.top_pairs(joint.T, classes, classes, TOP_PAIRS),
                   "Largest estimated label flips: true → given", "share of all labels",
                   ["true (estimated)", "given", "share of all labels", "share of the true class"], ".3f", "ins_trans")
    else:
        c1.plotly_chart(charts.matrix(trans, classes, classes, "p(given label | true label), estimated",
                                      fmt=".2f", x_title="true (estimated)", y_title="given"), key="ins_trans")
    c2.caption("Each column shows how the faces of one true expression were labelled (cleanlab's confident "
               "joint from the same probabilities as the share below: out-of-sample when the run has them).")
    with c2:
        _noise_share(run, mt, scores, classes)


@st.cache_data(max_entries=4, show_spinner="Estimating the share of wrong labels…")
def _share(run: str, mt: float, _scores: pd.DataFrame, classes: tuple[str, ...]):
    return noise_share.noise_share(_scores, list(classes))


def _noise_share(run: str, mt: float, scores: pd.DataFrame, classes: list[str]) -> None:
    """The estimated share of wrong labels with its bootstrap interval and the estimator's measured
    error (bench/bench_noise_share.py); no number when that error has not been measured."""
    measured = noise_share.measured_error()
    if measured is None or measured.empty:
        st.info("The share of wrong labels is not estimated here: the estimator's error has not been "
                "measured on this installation (run `python bench/bench_noise_share.py`).")
        return
    try:
        share = _share(run, mt, scores, tuple(classes))
    except ValueError as e:
        st.info(f"The share of wrong labels cannot be estimated for this run: {ui.md_escape(e)}")
        return
    st.metric("Estimated share of wrong labels", f"{share.estimate:.1%}",
              help=f"Estimator: {noise_share.DESCRIPTIONS[share.method]} (eac_core.noise_share). The interval is "
                   "a bootstrap over faces (how much the estimate moves with the sample); the measured error "
                   "below is how far the estimator was from the truth.")
    st.markdown(f"{share.level:.0%} bootstrap interval **{share.low:.1%} – {share.high:.1%}** "
                f"({share.n_boot} resamples of the run's {share.n:,} faces), from its **{share.source}** "
                "probabilities" + (" (`--folds`)." if share.source == "out-of-sample" else
                                   " (train with `--folds K` for out-of-sample ones)."))
    rows = measured[(measured["estimator"] == share.method)
                    & measured["probabilities"].str.startswith(share.source)]
    if rows.empty:
        rows = measured[measured["estimator"] == share.method]
    st.markdown("**Measured error of this estimator** (estimate − truth on data whose truth is known):")
    # a table that wraps its text to the page (a dataframe of these long names was cut on the right,
    # issue 24 item 5); numbers as text, an empty cell as "–"
    st.table(measured_error_table(rows), hide_index=True)
    st.caption(f"`{measured.attrs.get('command', '')}`, {measured.attrs.get('date', '')}; bench/README.md.")
    truth = run_metrics.noise_mask(_with_truth(RunDir(run), scores))
    if truth is not None:
        st.markdown(f"This run's truth is known: **{truth.mean():.1%}** of its labels are wrong "
                    f"(error of the estimate here: {share.estimate - truth.mean():+.1%}).")


def _num(v, fmt: str = ".3f") -> str:
    return "–" if v is None or pd.isna(v) else format(float(v), fmt)


def measured_error_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The estimator's measured error as text cells: the data, the probabilities, the model's test
    accuracy, the truth, the estimate with its interval, the error."""
    get = lambda c: rows[c] if c in rows.columns else pd.Series([None] * len(rows), index=rows.index)  # noqa: E731
    return pd.DataFrame({
        "data": get("dataset").astype(str).to_list(),
        "probabilities": get("probabilities").astype(str).to_list(),
        "model test acc": [_num(v) for v in get("model_test_acc")],
        "truth": [_num(v) for v in get("truth")],
        "estimate (interval)": [f"{_num(e)} ({_num(lo)}–{_num(hi)})"
                                for e, lo, hi in zip(get("estimate"), get("low"), get("high"))],
        "error": [_num(v, "+.3f") for v in get("error")],
    })


def _pairs(pairs: pd.DataFrame, title: str, x_title: str, names: list[str], fmt: str, key: str) -> None:
    """A matrix too large to draw, as its largest off-diagonal cells: bars and the same as a table."""
    if pairs.empty:
        st.caption(f"{title}: none (every count is on the diagonal).")
        return
    st.plotly_chart(charts.pairs_bar(pairs, title, x_title=x_title, fmt=fmt), key=key)
    st.dataframe(pairs.set_axis(names, axis=1), hide_index=True, key=f"{key}_table", height=240,
                 column_config={names[3]: st.column_config.NumberColumn(format="%.3f")}
                 | ({names[2]: st.column_config.NumberColumn(format="%.4f")} if fmt != "d" else {}))


def _embedding(run: RunDir, scores: pd.DataFrame, classes: list[str]) -> None:
    emb = loaders.load_embedding(run)
    if emb is None or emb.empty:
        st.info("This run has no embedding map yet (it is written at the end of training).")
        return
    emb = emb.merge(scores[["sample_id", "label", "rank"]], on="sample_id", how="inner")
    n_s = max(1, int(len(scores) * N_SUSPECTS))
    suspects = set(scores.nsmallest(n_s, "rank")["sample_id"])
    st.caption(f"Top {n_s} suspects are drawn larger with a black ring. Click a point to open that face on the Review page.")
    shown = display_ids.for_columns(scores.columns, classes)
    state = st.plotly_chart(charts.embedding(emb, classes, suspects, shown=shown),
                            key="ins_embedding", on_select="rerun",
                            selection_mode="points")
    picked = _picked_sample(state)          # a link token (display_ids): the URL never carries a masked id
    sid = shown.find(picked, scores["sample_id"].astype(str).tolist()) if picked else None
    if sid is not None:
        st.session_state[GOTO] = sid
        st.switch_page(ui.PAGES["review"], query_params={"sample": picked, "run": run.name})


def _picked_sample(state) -> str | None:
    try:
        pts = state.selection.points if hasattr(state, "selection") else state["selection"]["points"]
    except (KeyError, TypeError, AttributeError):
        return None
    for p in pts or []:
        cd = p.get("customdata") if isinstance(p, dict) else None
        if cd is not None:
            return str(cd[0] if isinstance(cd, (list, tuple)) else cd)
    return None


def _truth(run: RunDir, scores: pd.DataFrame, classes: list[str]) -> None:
    scores = _with_truth(run, scores)
    truth = run_metrics.truth_column(scores)
    if truth is None:
        st.info("The true labels are not known for this dataset (they are for the demo and for datasets "
                "with injected noise), so the ranking cannot be scored here.")
        return
    det = run_metrics.detection_report(scores, truth)
    st.markdown(f"{det['n_noisy']:,} of {det['n']:,} training labels differ from `{truth}` "
                f"({det['base_rate']:.1%}).")
    if det.get("degenerate"):
        st.info("Every label is right (or every label is wrong): no curve to draw.")
    else:
        st.plotly_chart(charts.detection_curves(det["fpr"], det["tpr"], det["recall"], det["precision"], det["auc"],
                                                det["ap"], det["base_rate"]), key="ins_roc")
        st.markdown("**Precision at k** (share of the top k suspects whose label is really wrong)")
        st.dataframe(det["precision_at_k"], hide_index=True, key="ins_pak",
                     column_config={"precision": st.column_config.NumberColumn(format="%.3f"),
                                    "recall": st.column_config.NumberColumn(format="%.3f")})
    ds_dir = loaders.run_dataset_dir(run)
    latest = ui.audit_for(run, ds_dir, classes).latest()
    st.markdown("**Your decisions so far, checked against the truth**")
    acc = metrics.reviewer_accuracy(latest, scores, truth)
    if acc.empty:
        st.caption("No decisions yet.")
    else:
        # unsure is not scored: its cell says so (it showed the word None, issue 24 item 5)
        shown = acc.assign(accuracy=[_num(v) if pd.notna(v) else "not scored" for v in acc["accuracy"]])
        st.dataframe(shown, hide_index=True, key="ins_reviewer")


def _with_truth(run: RunDir, scores: pd.DataFrame) -> pd.DataFrame:
    if run_metrics.truth_column(scores) is not None:
        return scores
    ds_dir = loaders.run_dataset_dir(run)
    if ds_dir is None:
        return scores
    try:
        m = loaders.load_dataset(ds_dir).manifest
    except Exception:  # noqa: BLE001 - truth is optional
        return scores
    cols = [c for c in run_metrics.TRUTH_COLUMNS if c in m.columns]
    if not cols:
        return scores
    return scores.merge(m[["sample_id", *cols]], on="sample_id", how="left", suffixes=("", "_manifest"))


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Insights page"):
        render()
