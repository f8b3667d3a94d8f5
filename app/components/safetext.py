"""Values from outside the app (a URL, a file name, a manifest, dataset.json, settings, an error message
that quotes them) shown as typed: never as a link, an image, HTML, a heading or a formula.

Every st.markdown / st.caption / st.warning / st.error / st.toast body is markdown (GitHub-flavoured,
with Streamlit's LaTeX, colour and icon extensions), so such a value goes through `md_escape` (or
`md_code` inside a code span); inside HTML that the app renders itself, through `html_text`.
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


def html_text(text: object) -> str:
    """`text` for HTML that is itself rendered as markdown (an inline <span> in st.markdown with
    unsafe_allow_html): HTML-escaped, and markdown punctuation as character references, which
    markdown shows literally and never reads as syntax."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return "".join(_MD_ENTITY.get(ch) or html.escape(ch, quote=True) for ch in text)
