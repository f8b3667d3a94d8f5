"""Data page (import under the allowed roots, refusals), Settings page (settings.json)."""
from __future__ import annotations

import json
import os

import pytest


def _import(app, root: str, name: str = "mine", fmt: str = "folders"):
    app.switch_page("views/data.py").run()
    app.selectbox(key="imp_format").set_value(fmt)
    app.text_input(key="imp_root").input(root)
    app.text_input(key="imp_name").input(name)
    app.get("form_submit_button")  # the form's button
    [b for b in app.button if b.label == "Import"][0].click().run()
    return app


def test_import_outside_the_allowed_roots_is_refused(empty_project, app, tmp_path):
    outside = tmp_path / "outside"
    (outside / "happy").mkdir(parents=True)
    app.run()
    _import(app, str(outside))
    assert not app.exception
    assert any("outside the allowed data roots" in e.value for e in app.error)
    assert not (empty_project / "datasets" / "mine").exists()


@pytest.mark.parametrize("how", ["dotdot", "symlink"])
def test_escapes_through_dotdot_or_symlink_are_refused(empty_project, app, tmp_path, how):
    outside = tmp_path / "outside"
    outside.mkdir()
    (empty_project / "datasets").mkdir()
    if how == "dotdot":
        root = str(empty_project / "datasets" / ".." / ".." / "outside")
    else:
        link = empty_project / "datasets" / "link"
        os.symlink(outside, link)
        root = str(link)
    app.run()
    _import(app, root)
    assert not app.exception
    assert any("refused" in e.value for e in app.error)


def test_import_under_an_added_root_works(empty_project, app, tmp_path):
    from data_tools.images import write_image
    import numpy as np
    src = tmp_path / "faces"
    rng = np.random.default_rng(0)
    for cls in ("happy", "sad"):
        for i in range(6):
            write_image(src / cls / f"{cls}{i}.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": [str(tmp_path)]}))
    app.run()
    _import(app, str(src), name="faces")
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert (empty_project / "datasets" / "faces" / "manifest.csv").is_file()
    app.run()
    assert any(h.value == "Samples per class" for h in app.subheader)
    assert len(app.image) >= 2


def test_settings_are_saved(empty_project, app, tmp_path):
    app.run()
    app.switch_page("views/settings.py").run()
    app.text_input(key="set_reviewer").input("Ana")
    app.text_area(key="set_roots").input(f"{tmp_path}\nrelative/path")
    [b for b in app.button if b.label == "Save settings"][0].click().run()
    assert any("not an absolute path" in e.value for e in app.error)
    assert not (empty_project / "settings.json").exists()
    app.text_area(key="set_roots").input(str(tmp_path))
    [b for b in app.button if b.label == "Save settings"][0].click().run()
    saved = json.loads((empty_project / "settings.json").read_text())
    assert saved == {"reviewer": "Ana", "allowed_roots": [str(tmp_path.resolve())]}
    assert any(str(tmp_path.resolve()) in m.value for m in app.markdown)


def test_settings_refuse_the_file_system_root(empty_project, app):
    """Issue 9, hole 3: '//' was saved as the allowed root '/'."""
    app.run()
    app.switch_page("views/settings.py").run()
    app.text_area(key="set_roots").input("//")
    [b for b in app.button if b.label == "Save settings"][0].click().run()
    assert [e.value for e in app.error] == ["Not saved: '//' is the file-system root; name a narrower folder."]
    assert not (empty_project / "settings.json").exists()
