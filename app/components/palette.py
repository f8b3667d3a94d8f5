"""One colour per expression class, the same in every chart and badge."""
from __future__ import annotations

_FIXED = {
    "angry": "#d62728",
    "disgust": "#2ca02c",
    "fear": "#9467bd",
    "happy": "#ffb000",
    "sad": "#1f77b4",
    "surprise": "#17becf",
    "neutral": "#7f7f7f",
    "contempt": "#8c564b",
}
# for class names outside the canonical vocabulary, in order of first appearance
_EXTRA = ["#e377c2", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]
REMOVED = "#444444"


def class_colors(classes: list[str]) -> dict[str, str]:
    """Class name -> hex colour (canonical names have fixed colours; others cycle through extras)."""
    out: dict[str, str] = {}
    extra = 0
    for c in classes:
        if c in _FIXED:
            out[c] = _FIXED[c]
        else:
            out[c] = _EXTRA[extra % len(_EXTRA)]
            extra += 1
    return out


def color_of(name: str, classes: list[str]) -> str:
    return class_colors(list(classes)).get(name, REMOVED)


def badge(name: str, classes: list[str]) -> str:
    """HTML for a class name in its colour (escaped for HTML and markdown; render with unsafe_allow_html=True)."""
    from app.components.safetext import html_text
    return (f'<span style="background:{color_of(name, classes)};color:#fff;padding:1px 7px;'
            f'border-radius:6px;font-weight:600">{html_text(name)}</span>')
