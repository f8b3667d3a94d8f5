"""Values from a URL, a file name or a manifest are shown as typed, never as markdown (issue 9, hole 6)."""
from __future__ import annotations


import pytest


from app.components.safetext import html_text, md_code, md_escape

LINK = "[Session expired](http://evil.example/login)"
J = "\u2060"      # WORD JOINER: breaks the autolink GitHub-flavoured markdown would make of a bare URL


@pytest.mark.parametrize("text, shown", [
    (LINK, r"\[Session expired\]\(http" + J + r"\://evil.example/login\)"),
    ("![x](http://evil.example/x.png)", r"\!\[x\]\(http" + J + r"\://evil.example/x.png\)"),
    ("<http://evil.example>", r"\<http" + J + r"\://evil.example\>"),
    ("www.evil.example", "www" + J + r"\.evil.example"), ("WWW.evil.example", "WWW" + J + r"\.evil.example"),
    ("mail@evil.example", r"mail\@" + J + "evil.example"),
    ("<img src=x onerror=alert(1)>", r"\<img src=x onerror=alert\(1\)\>"),
    ("**bold** _it_ ~~s~~ `c` $x$ :red[r] :material/home:",
     r"\*\*bold\*\* \_it\_ \~\~s\~\~ \`c\` \$x\$ \:red\[r\] \:material/home:"),
    ("# heading", r"\# heading"), ("- item", r"\- item"), ("1. item", r"1\. item"), ("a|b", r"a\|b"),
    ("&amp; &#91;", r"\&amp; \&\#91;"), ("back\\slash", r"back\\slash"), ("two\nlines\r\n", "two lines "),
    # plain ids, file names and messages pass unchanged
    ("train_00012", "train_00012"), ("img/happy/a-1.png", "img/happy/a-1.png"), ("Saved: kept", "Saved: kept"),
    ("笑顔 é", "笑顔 é"), ("'//' is the root", "'//' is the root"),
])
def test_md_escape(text, shown):
    assert md_escape(text) == shown


def test_md_code_and_html_text():
    assert md_code("/data/faces") == "`/data/faces`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x``") == "``` `x`` ```"
    assert html_text('<b a="1">[x](y)</b>') == "&lt;b a=&quot;1&quot;&gt;&#91;x&#93;&#40;y&#41;&lt;/b&gt;"


def test_a_link_in_the_url_is_shown_as_text(project, app):
    """`?sample=[Session expired](http://evil.example/login)` rendered a live link in the warning."""
    app.query_params["sample"] = LINK
    app.run()
    assert not app.exception
    assert [w.value for w in app.warning] == [
        r"Sample \[Session expired\]\(http" + J + r"\://evil.example/login\) is not in this run's ranking; "
        "showing the queue instead."]


def test_a_hostile_class_name_is_escaped_in_badges_and_buttons(project, app):
    import json
    info = project / "datasets" / "demo" / "dataset.json"
    raw = json.loads(info.read_text())
    assert raw["classes"][0] == "angry"
    (project / "datasets" / "demo" / "manifest.csv").write_text(
        (project / "datasets" / "demo" / "manifest.csv").read_text().replace(",angry,", f",{LINK},"))
    raw["classes"][0] = LINK
    info.write_text(json.dumps(raw))
    app.run()
    assert not app.exception
    buttons = {b.key: b.label for b in app.button if b.key}
    assert buttons["act_relabel_1"] == md_escape(LINK)
    assert all("](http" not in m.value for m in app.markdown if "evil" in m.value)


def test_html_text_breaks_autolinks():
    """Issue 22 item 1: the class badges (html_text inside st.markdown) linked a bare URL: markdown
    finds autolinks after '&#58;' is decoded, so the word joiner must be in the text itself."""
    shown = html_text("https://evil.example/u www.evil.example me@evil.example")
    assert shown == ("https" + J + "&#58;//evil&#46;example/u www" + J + "&#46;evil&#46;example me&#64;" + J
                     + "evil&#46;example")


def test_plot_text_for_plotly():
    """Issue 22 item 1: plotly reads its text as HTML (`<a href>` became a live link in the legends and
    axes) and `$...$` as TeX."""
    from app.components.safetext import plot_template, plot_text
    assert plot_text('<a href="https://evil.example/h">h</a>') == '&lt;a href="https://evil.example/h"&gt;h&lt;/a&gt;'
    assert plot_text("$\\href{x}{y}$ & b") == "&#36;\\href{x}{y}&#36; &amp; b"
    assert plot_template("%{x}") == "&#37;{x}"
    assert plot_text("happy") == "happy"


def test_charts_show_class_names_and_ids_as_typed():
    import pandas as pd

    from app.components import charts
    from app.components.safetext import plot_text
    evil = '<a href="https://evil.example/h">h</a>'
    emb = pd.DataFrame({"sample_id": ["<b>s1</b>", "s2"], "x": [0.0, 1.0], "y": [0.0, 1.0], "label": [evil, "ok"]})
    fig = charts.embedding(emb, [evil, "ok"], {"s2"})
    assert [t.name for t in fig.data] == [plot_text(evil), "ok (suspect)"]
    assert list(fig.data[0].customdata[0]) == ["<b>s1</b>", "&lt;b&gt;s1&lt;/b&gt;"]   # [0]: the id a click reads
    assert "<a href" not in fig.data[0].hovertemplate
    m = pd.DataFrame({"label": [evil, "ok"], "split": ["train", "train"]})
    bal = charts.class_balance(m, [evil, "ok"])
    assert list(bal.data[0].x) == [plot_text(evil), "ok"]
    import numpy as np
    heat = charts.matrix(np.eye(2), [evil, "ok"], [evil, "ok"], "t")
    assert list(heat.data[0].x) == list(heat.data[0].y) == [plot_text(evil), "ok"]
    box = charts.suspicion_by_class(pd.DataFrame({"label": [evil], "suspicion": [1.0]}), [evil])
    assert box.data[0].name == plot_text(evil)
