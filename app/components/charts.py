"""Plotly figures, each a pure function of data frames; class colours come from palette.py."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.components.palette import class_colors
from app.components.safetext import html_text, plot_template, plot_text

_MARGIN = dict(l=8, r=8, t=64, b=8)


def _layout(fig: go.Figure, height: int, title: str | None = None, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=_MARGIN,
                      title=dict(text=title or "", font=dict(size=14), y=0.985, yanchor="top", yref="container"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), **kw)
    return fig


def curves(summary: pd.DataFrame, height: int = 260, *, mode: str | None = None) -> go.Figure:
    """Loss and accuracy per epoch, side by side. The consistency loss (`att_loss`) is drawn for an EAC
    run only (`mode`, config.json's; unknown: when it is not 0 throughout): a CE run writes 0 there,
    which drew a flat line (issue 24 item 5). summary.csv's other columns (`cam_energy`, ...) are not
    losses and are not drawn."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.08)
    if summary is not None and not summary.empty and "epoch" in summary.columns:
        x = summary["epoch"]
        att = pd.to_numeric(summary["att_loss"], errors="coerce") if "att_loss" in summary.columns else None
        eac = mode == "eac" if mode else att is not None and bool((att.fillna(0) != 0).any())
        for col, color in (("loss", "#333"), ("ce_loss", "#1f77b4"), ("att_loss", "#ff7f0e")):
            if col == "att_loss" and not eac:
                continue
            if col in summary.columns and summary[col].notna().any():
                fig.add_trace(go.Scatter(x=x, y=summary[col], name=col, mode="lines+markers",
                                         line=dict(color=color)), row=1, col=1)
        for col, color in (("train_acc", "#2ca02c"), ("test_acc", "#d62728"), ("val_acc", "#9467bd")):
            if col in summary.columns and summary[col].notna().any():
                fig.add_trace(go.Scatter(x=x, y=summary[col], name=col, mode="lines+markers",
                                         line=dict(color=color)), row=1, col=2)
    fig.update_xaxes(title="epoch")
    if summary is not None and len(summary) <= 15:
        fig.update_xaxes(dtick=1)
    _layout(fig, height)
    fig.update_layout(legend=dict(y=1.14))
    return fig


def class_balance(manifest: pd.DataFrame, classes: list[str], height: int = 300) -> go.Figure:
    """Images per class, one bar group per split, bars in class colours."""
    colors = class_colors(classes)
    counts = manifest.groupby(["split", "label"]).size().rename("n").reset_index()
    splits = [s for s in ("train", "val", "test") if s in set(counts["split"])]
    fig = make_subplots(rows=1, cols=max(len(splits), 1), subplot_titles=splits or [""], shared_yaxes=True)
    for i, s in enumerate(splits, start=1):
        c = counts[counts["split"] == s].set_index("label")["n"].reindex(classes, fill_value=0)
        fig.add_trace(go.Bar(x=[plot_text(k) for k in c.index], y=c.values, marker_color=[colors[k] for k in c.index],
                             showlegend=False, hovertemplate="%{x}: %{y}<extra>" + s + "</extra>"), row=1, col=i)
    return _layout(fig, height, "Class balance")


def suspicion_by_class(scores: pd.DataFrame, classes: list[str], col: str = "suspicion", height: int = 320,
                       top: int = 30) -> go.Figure:
    """Distribution of the suspicion score per given class (one box each); with more than `top`
    classes, the `top` classes of highest median suspicion."""
    colors = class_colors(classes)
    title = f"{col} by given class"
    if len(classes) > top:
        med = scores.groupby("label")[col].median().reindex(classes)
        keep = set(med.sort_values(ascending=False, kind="stable").index[:top])
        classes = [c for c in classes if c in keep]
        title += f" (the {top} classes of highest median)"
    fig = go.Figure()
    for c in classes:
        v = scores.loc[scores["label"] == c, col]
        if len(v):
            fig.add_trace(go.Box(y=v, name=plot_text(c), marker_color=colors[c], boxpoints=False))
    fig.update_yaxes(title=col)
    return _layout(fig, height, title, showlegend=False)


def matrix(m: np.ndarray, rows: list[str], cols: list[str], title: str, *, fmt: str = "d",
           x_title: str = "", y_title: str = "", height: int = 360) -> go.Figure:
    """A labelled heatmap with the numbers written in the cells."""
    text = [[format(v, fmt) if fmt != "d" else str(int(v)) for v in row] for row in m]
    cols, rows = [plot_text(c) for c in cols], [plot_text(r) for r in rows]   # category labels: plotly HTML
    fig = go.Figure(go.Heatmap(z=m, x=cols, y=rows, text=text, texttemplate="%{text}", colorscale="Blues",
                               showscale=False, hovertemplate=f"{y_title} %{{y}} → {x_title} %{{x}}: %{{z}}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title=y_title)
    fig.update_xaxes(title=x_title, side="bottom")
    return _layout(fig, height, title)


def pairs_bar(pairs: pd.DataFrame, title: str, *, x_title: str, fmt: str = "d", height: int = 420) -> go.Figure:
    """The most confused pairs of a large matrix (eac_core.metrics.top_pairs) as horizontal bars,
    largest on top, each labelled "row → col"."""
    labels = [f"{plot_text(r)} → {plot_text(c)}" for r, c in zip(pairs["row"], pairs["col"])]
    text = [format(v, fmt) if fmt != "d" else str(int(v)) for v in pairs["value"]]
    fig = go.Figure(go.Bar(x=pairs["value"], y=labels, orientation="h", text=text, textposition="auto",
                           marker_color="#1f77b4", hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title=x_title)
    return _layout(fig, max(height, 60 + 22 * len(pairs)), title)


LEGEND_CLASSES = 20   # above this many classes, charts name classes on hover instead of in a legend


def embedding(emb: pd.DataFrame, classes: list[str], suspects: set[str], height: int = 520,
              title: str = "Embedding (click a point to open that face)", shown=None) -> go.Figure:
    """The 2-D map coloured by given label; suspects drawn larger with a black ring. customdata =
    [sample_id, the id as plotly shows it] (with more than LEGEND_CLASSES classes, [..., the label as
    shown] too: two traces and no legend); a click or lasso reads customdata[0]. `shown` draws an id
    (app.components.display_ids: no class name from the id where the truth is known; default: as is),
    and customdata[0] is its link token (the id itself unless masked: `Shown.find` / `ids_of` read it back)."""
    colors = class_colors(classes)
    shown = shown or str
    link = getattr(shown, "token", str)
    fig = go.Figure()
    is_s = emb["sample_id"].isin(suspects)
    if len(classes) > LEGEND_CLASSES:      # one trace per class would be 2K traces and a legend of K names
        index = {c: i for i, c in enumerate(classes)}
        for sus in (False, True):
            d = emb[is_s == sus]
            fig.add_trace(go.Scattergl(
                x=d["x"], y=d["y"], mode="markers", name="suspects" if sus else "faces", showlegend=False,
                customdata=np.column_stack([d["sample_id"].map(link), d["sample_id"].map(shown).map(plot_text),
                                            d["label"].astype(str).map(plot_text)]),
                marker=dict(color=d["label"].map(index).fillna(-1), colorscale="Turbo", cmin=0, cmax=len(classes) - 1,
                            size=10 if sus else 5, opacity=1.0 if sus else 0.5,
                            line=dict(color="black", width=1.5) if sus else dict(width=0)),
                hovertemplate="sample %{customdata[1]}<extra>%{customdata[2]}" + ("; suspect" if sus else "")
                              + "</extra>"))
    else:
        for c in classes:
            for sus in (False, True):
                d = emb[(emb["label"] == c) & (is_s == sus)]
                if d.empty:
                    continue
                fig.add_trace(go.Scattergl(
                    x=d["x"], y=d["y"], mode="markers", name=plot_text(c) if not sus else f"{plot_text(c)} (suspect)",
                    legendgroup=c, showlegend=not sus,
                    customdata=np.column_stack([d["sample_id"].map(link), d["sample_id"].map(shown).map(plot_text)]),
                    marker=dict(color=colors[c], size=10 if sus else 5, opacity=1.0 if sus else 0.5,
                                line=dict(color="black", width=1.5) if sus else dict(width=0)),
                    hovertemplate="sample %{customdata[1]}<extra>" + plot_template(c) + ("; suspect" if sus else "")
                                  + "</extra>"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return _layout(fig, height, title, dragmode="pan")


MAP_CATEGORIES = 12          # a text column colours at most this many values; the rest are "other"


def embedding_by(emb: pd.DataFrame, column: str, classes: list[str], *, in_view: set[str] | None = None,
                 shown=None, height: int = 520, title: str = "Embedding") -> go.Figure:
    """The 2-D map coloured by any column of `emb` (issue 24): numbers on a continuous scale with a
    colour bar; text one trace per value (class names in their class colours; the MAP_CATEGORIES most
    frequent values, the rest as "other"). Faces outside `in_view` (what the Gallery's filters leave) are
    drawn small and grey, so the map follows the filters. customdata = [sample_id, the id as shown, the
    value as text]; a click or lasso reads customdata[0] (the link token, as `embedding`)."""
    shown = shown or str
    link = getattr(shown, "token", str)
    fig = go.Figure()
    inside = emb["sample_id"].isin(in_view) if in_view is not None else pd.Series(True, index=emb.index)
    out = emb[~inside]
    if len(out):
        fig.add_trace(go.Scattergl(x=out["x"], y=out["y"], mode="markers", name="filtered out",
                                   customdata=np.column_stack([out["sample_id"].map(link),
                                                               out["sample_id"].map(shown).map(plot_text),
                                                               np.full(len(out), "filtered out")]),
                                   marker=dict(color="#d0d0d0", size=4, opacity=0.4),
                                   hovertemplate="sample %{customdata[1]}<extra>filtered out</extra>"))
    d = emb[inside]
    v = d[column] if column in d.columns else pd.Series(np.nan, index=d.index)
    if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
        fig.add_trace(go.Scattergl(
            x=d["x"], y=d["y"], mode="markers", name=plot_text(column), showlegend=False,
            customdata=np.column_stack([d["sample_id"].map(link), d["sample_id"].map(shown).map(plot_text),
                                        v.map(lambda z: "–" if pd.isna(z) else f"{z:.4g}")]),
            marker=dict(color=v, colorscale="Viridis", size=6, opacity=0.8,
                        colorbar=dict(title=dict(text=plot_text(column)))),
            hovertemplate="sample %{customdata[1]}<extra>" + plot_template(column) + " %{customdata[2]}</extra>"))
    else:
        text = v.astype(object).where(v.notna(), "(none)").astype(str)
        top = list(text.value_counts().index[:MAP_CATEGORIES])
        text = text.where(text.isin(top), "other")
        colors = class_colors(classes)
        palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31"]
        for i, val in enumerate(top + (["other"] if (text == "other").any() else [])):
            m = text == val
            fig.add_trace(go.Scattergl(
                x=d.loc[m, "x"], y=d.loc[m, "y"], mode="markers", name=plot_text(val),
                customdata=np.column_stack([d.loc[m, "sample_id"].map(link),
                                            d.loc[m, "sample_id"].map(shown).map(plot_text),
                                            text[m].map(plot_text)]),
                marker=dict(color=colors.get(val, palette[i % len(palette)]), size=6, opacity=0.8),
                hovertemplate="sample %{customdata[1]}<extra>%{customdata[2]}</extra>"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return _layout(fig, height, title, dragmode="lasso")


def detection_curves(fpr, tpr, rec, prec, auc: float, ap: float, base_rate: float, height: int = 320) -> go.Figure:
    """ROC and precision-recall curves of the suspicion score against the known noise."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"ROC (AUC {auc:.3f})", f"Precision-recall (AP {ap:.3f})"))
    fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name="ROC", line=dict(color="#1f77b4")), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line=dict(color="#bbb", dash="dot")),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=rec, y=prec, mode="lines", name="PR", line=dict(color="#d62728")), row=1, col=2)
    fig.add_trace(go.Scatter(x=[0, 1], y=[base_rate, base_rate], mode="lines", name="noise rate",
                             line=dict(color="#bbb", dash="dot")), row=1, col=2)
    fig.update_xaxes(title="false positive rate", row=1, col=1)
    fig.update_yaxes(title="true positive rate", row=1, col=1)
    fig.update_xaxes(title="recall", row=1, col=2)
    fig.update_yaxes(title="precision", row=1, col=2)
    return _layout(fig, height, showlegend=False)


# -- light HTML pieces for the per-face panel: drawn on every "next", so no plotly there -------------
TOP_PROBS = 10   # bars drawn per face when a dataset has more classes than this


def probability_bars_html(probs: dict[str, float], classes: list[str], given: str, pred: str,
                          top: int = TOP_PROBS) -> str:
    """Class probabilities as sorted horizontal bars in class colours (HTML; names escaped): the `top`
    most probable classes, plus the given class when it is not among them, and one line for the rest."""
    colors = class_colors(classes)
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])
    shown = ranked[:top] + [kv for kv in ranked[top:] if kv[0] == given]
    rows = []
    for name, p in shown:
        tag = " · ".join(t for t, c in (("given", given), ("predicted", pred)) if c == name)
        label = html_text(name) + (f" <span style='color:#888'>({tag})</span>" if tag else "")
        pct = max(0.0, min(1.0, float(p))) * 100
        rows.append(
            "<div style='display:flex;align-items:center;gap:6px;height:22px'>"
            f"<div style='width:150px;text-align:right;font-size:0.85rem;white-space:nowrap'>{label}</div>"
            "<div style='flex:1;background:#f0f2f6;height:14px;border-radius:3px'>"
            f"<div style='width:{pct:.1f}%;background:{colors.get(name, '#999')};height:14px;border-radius:3px'></div>"
            f"</div><div style='width:40px;font-size:0.8rem;font-variant-numeric:tabular-nums'>{float(p):.2f}</div></div>")
    head = "Class probabilities" if len(shown) == len(ranked) else f"Class probabilities (top {top} of {len(ranked)})"
    rest = len(ranked) - len(shown)
    if rest:
        p_rest = sum(p for _, p in ranked) - sum(p for _, p in shown)
        rows.append(f"<div style='color:#888;font-size:0.8rem'>{rest} more classes: {p_rest:.2f} together</div>")
    return f"<div style='font-weight:600;margin-bottom:4px'>{head}</div>" + "".join(rows)


def sparkline_svg(x: list[float], y: list[float], *, title: str, width: int = 360, height: int = 110) -> str:
    """A small line chart (0..1 on the y axis) as inline SVG with its points and last value."""
    pad_l, pad_r, pad_t, pad_b = 28, 10, 8, 20
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    pts = [(float(a), float(b)) for a, b in zip(x, y) if b == b]   # drop NaN
    head = f"<div style='font-weight:600;margin:6px 0 2px'>{html_text(title)}</div>"
    if not pts:
        return head + "<div style='color:#888;font-size:0.85rem;height:{}px'>no per-epoch history</div>".format(height - 20)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    sx = (lambda v: pad_l + (w * (v - x0) / (x1 - x0) if x1 > x0 else w / 2))
    sy = (lambda v: pad_t + h * (1 - max(0.0, min(1.0, v))))
    poly = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in pts)
    dots = "".join(f"<circle cx='{sx(a):.1f}' cy='{sy(b):.1f}' r='2.5' fill='#1f77b4'/>" for a, b in pts)
    grid = "".join(f"<line x1='{pad_l}' x2='{pad_l + w}' y1='{sy(v):.1f}' y2='{sy(v):.1f}' stroke='#e6e6e6'/>"
                   f"<text x='{pad_l - 4}' y='{sy(v) + 4:.1f}' font-size='10' text-anchor='end' fill='#888'>{v:g}</text>"
                   for v in (0, 0.5, 1))
    xt = "".join(f"<text x='{sx(v):.1f}' y='{height - 5}' font-size='10' text-anchor='middle' fill='#888'>{int(v)}</text>"
                 for v in sorted({x0, x1}))
    return (head + f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>{grid}{xt}"
            f"<polyline points='{poly}' fill='none' stroke='#1f77b4' stroke-width='2'/>{dots}</svg>")
