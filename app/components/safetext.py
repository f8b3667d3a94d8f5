"""Values from outside the app (a URL, a file name, a manifest, dataset.json, settings, an error message
that quotes them) shown as typed: never as a link, an image, HTML, a heading or a formula.

Every st.markdown / st.caption / st.warning / st.error / st.toast body, every st.image caption, every
widget label, button label, tooltip (`help=`) and radio / pills option is markdown (GitHub-flavoured,
with Streamlit's LaTeX, colour and icon extensions), so such a value goes through `md_escape` (or
`md_code` inside a code span); inside HTML that the app renders itself, through `html_text`; inside a
plotly figure (axis categories, trace names, hover text), through `plot_text` / `plot_template`.
Selectbox and multiselect options are plain text: they take the value as it is.
tests/app/test_browser_hostile_names.py renders a corpus of hostile names through the pages in Chromium.
"""
from __future__ import annotations

import html
import re

# ASCII characters that start markdown syntax somewhere (links, images, emphasis, code, HTML, tables,
# strikethrough, LaTeX, entities, e-mail autolinks, headings and lists)
_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~$:&@")
_IN_WORD = frozenset("_-.")          # harmless between two letters or digits: train_00012, a-b, x.png
_PLAIN = re.compile(r"[A-Za-z0-9 ]*")
_MD_ENTITY = {ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]()#+-.!|~$:@"}


def _needs_escape(text: str, i: int) -> bool:
    ch = text[i]
    if ch not in _SPECIAL:
        return False
    if ch == ":":                    # 'Saved: x' stays; 'http://' and ':icon:' do not
        return i + 1 < len(text) and not text[i + 1].isspace()
    if ch in _IN_WORD and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
        return ch == "." and text[max(0, i - 3):i].lower() == "www"    # www.x.y would autolink
    return True


# GitHub-flavoured markdown also turns bare URLs, www. names and e-mail addresses into links after the
# escapes are read, so a backslash cannot stop it: an invisible WORD JOINER breaks 'http://', 'www.'
# and 'name@host' apart instead.
_AUTOLINK = re.compile(r"\\:(?=//)|(?i:www)(?=\\\.)|\\@")
_JOIN = "\u2060"


def md_escape(text: object) -> str:
    """`text` for a markdown body, shown as typed: every character that could start markdown syntax is
    backslash-escaped, URL and e-mail autolinks are broken by an invisible word joiner, line breaks
    become spaces. Plain ids and names (train_00012, img/a.png) pass unchanged."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    if _PLAIN.fullmatch(text):
        return text
    out = "".join("\\" + ch if _needs_escape(text, i) else ch for i, ch in enumerate(text))
    return _AUTOLINK.sub(lambda m: _JOIN + m.group(0) if m.group(0).startswith("\\:") else
                         m.group(0) + _JOIN, out)


def md_code(text: object) -> str:
    """`text` as an inline code span (a path, a folder): a fence longer than any backtick run inside,
    so nothing in it can close the span early."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# The same autolinks, found in the text after character references are decoded (an HTML '&#58;' is a
# ':' by then): a word joiner before '://', after 'www' before '.', and after '@'.
_AUTOLINK_RAW = re.compile(r"(?=://)|(?i:(?<=www))(?=\.)|(?<=@)")


def _unlinked(text: str) -> str:
    return _AUTOLINK_RAW.sub(_JOIN, text)


def html_text(text: object) -> str:
    """`text` for HTML that is itself rendered as markdown (an inline <span> in st.markdown with
    unsafe_allow_html): HTML-escaped, markdown punctuation as character references, which markdown
    shows literally and never reads as syntax, and URL / e-mail autolinks broken by a word joiner
    (GitHub-flavoured markdown finds them after the references are decoded)."""
    text = _unlinked(str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    return "".join(_MD_ENTITY.get(ch) or html.escape(ch, quote=True) for ch in text)


def plot_text(text: object) -> str:
    """`text` for a plotly figure (an axis category, a trace name, a title, hover text): plotly reads
    its text as a small HTML dialect (`<a href>` becomes a live link, `<br>` a line break) and `$...$`
    as TeX; '<', '>', '&' and '$' become character references, which plotly shows as typed."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return html.escape(text, quote=False).replace("$", "&#36;")


def plot_template(text: object) -> str:
    """`text` placed inside a plotly hovertemplate / texttemplate: as `plot_text`, and '%' as a
    character reference, so that a name holding '%{x}' is not read as a template field."""
    return plot_text(text).replace("%", "&#37;")


def image_caption(text: object) -> str:
    """An st.image caption (markdown) holding a value from outside the app: `md_escape`."""
    return md_escape(text)
