"""Keyboard navigation in the Gallery grid (issue 24): ←/→/↑/↓ move a cursor (▶) over the faces of the
page, `s` selects the face under it, `o` opens it on the Review page (that one: the browser test)."""
from __future__ import annotations

from pathlib import Path

from support.apptest import scores_of

COLS = 6


def _gallery():
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    config.set_option("server.address", "127.0.0.1")
    return AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "views" / "gallery.py"),
                             default_timeout=60)


def _cursor(at) -> list[str]:
    """The grid's face lines that carry the cursor mark."""
    return [m.value for m in at.markdown if m.value.startswith("▶ #")]


def _ids(at) -> list[str]:
    return [c.key[len("gal_box_"):] for c in at.checkbox if c.key.startswith("gal_box_")]


def test_arrow_keys_move_the_cursor_and_s_selects(project):
    s = scores_of(project).set_index("sample_id")
    at = _gallery()
    at.run()
    assert not at.exception
    ids = _ids(at)
    assert len(ids) == 24

    def line(sid):
        return f"▶ #{int(s.at[sid, 'rank']):,} · {s.at[sid, 'label']} → {s.at[sid, 'pred']}"

    assert _cursor(at) == [line(ids[0])]                  # starts on the page's first face
    at.button(key="gal_key_right").click().run()
    assert _cursor(at) == [line(ids[1])]
    at.button(key="gal_key_down").click().run()
    assert _cursor(at) == [line(ids[1 + COLS])]
    at.button(key="gal_key_left").click().run()
    assert _cursor(at) == [line(ids[COLS])]
    at.button(key="gal_key_up").click().run()
    assert _cursor(at) == [line(ids[0])]
    at.button(key="gal_key_up").click().run()             # stays on the page's first row
    assert _cursor(at) == [line(ids[0])]
    at.button(key="gal_key_select").click().run()
    assert at.checkbox(key=f"gal_box_{ids[0]}").value is True
    assert any("1 selected" in m.value for m in at.markdown)
    at.button(key="gal_key_select").click().run()         # again: unselected
    assert at.checkbox(key=f"gal_box_{ids[0]}").value is False
    assert any("0 selected" in m.value for m in at.markdown)


def _figure(at) -> dict:
    import json
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_the_map_is_coloured_by_any_column_and_follows_the_filters(project):
    s = scores_of(project)
    at = _gallery()
    at.run()
    assert not at.exception
    fig = _figure(at)
    assert fig["layout"]["title"]["text"] == "Embedding coloured by given: lasso or box to select faces"
    names = {t["name"] for t in fig["data"]}
    assert names == set(s["label"].unique())                      # one trace per given class, all in view
    assert sum(len(t["customdata"]) for t in fig["data"]) == len(s)
    for t in fig["data"]:
        assert {row[2] for row in t["customdata"]} == {t["name"]}
        assert set(s.set_index("sample_id").loc[[row[0] for row in t["customdata"]], "label"]) == {t["name"]}
    # the sidebar's filters: faces they leave out are grey on the map
    cls = s["label"].iloc[0]
    at.sidebar.multiselect(key="gal_given").select(cls).run()
    fig = _figure(at)
    out = next(t for t in fig["data"] if t["name"] == "filtered out")
    assert sorted(r[0] for r in out["customdata"]) == sorted(s.loc[s["label"] != cls, "sample_id"])
    assert {t["name"] for t in fig["data"]} == {"filtered out", cls}
    # any score column: a continuous scale with its colour bar
    at.selectbox(key="gal_map_color").set_value("suspicion").run()
    fig = _figure(at)
    t = next(t for t in fig["data"] if t["name"] != "filtered out")
    assert t["marker"]["colorbar"]["title"]["text"] == "suspicion"
    color = t["marker"]["color"]
    if isinstance(color, dict):                                   # plotly's typed array: {"dtype", "bdata"}
        import base64
        import numpy as np
        color = np.frombuffer(base64.b64decode(color["bdata"]), dtype=color["dtype"]).tolist()
    got = dict(zip((r[0] for r in t["customdata"]), color))
    want = s[s["label"] == cls].set_index("sample_id")["suspicion"]
    assert got.keys() == set(want.index)
    assert all(abs(got[k] - want[k]) < 1e-9 for k in want.index)
    # the decision: undecided until a face is decided
    at.selectbox(key="gal_map_color").set_value("decision").run()
    assert {t["name"] for t in _figure(at)["data"]} == {"filtered out", "undecided"}
