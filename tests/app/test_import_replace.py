"""Issue 22 item 3 on the app side: an import under the name of an existing dataset asks before
replacing it (the Data page), a failed import leaves the existing dataset byte-identical, and the
replacement keeps the folder's path (runs and audits name it)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from app import workflows


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def faces(empty_project, tmp_path) -> Path:
    """A folders dataset of 12 faces under an allowed root."""
    from data_tools.images import write_image
    src = tmp_path / "faces"
    rng = np.random.default_rng(0)
    for cls in ("happy", "sad"):
        for i in range(6):
            write_image(src / cls / f"{cls}{i}.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": [str(tmp_path)]}))
    return src


def test_import_into_an_existing_name_needs_replace(empty_project, faces, tmp_path):
    out, _ = workflows.import_dataset("folders", str(faces), "faces")
    before = snapshot(out)
    (faces / "sad" / "sad0.png").unlink()
    with pytest.raises(workflows.DatasetExists) as e:
        workflows.import_dataset("folders", str(faces), "faces")
    assert str(e.value) == ("datasets/faces already holds a dataset (12 images). Replacing it changes what the "
                            "runs and audits that use it read.")
    assert snapshot(out) == before
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "labels.csv").write_text("path,label\nnope.png,happy\n")
    with pytest.raises(workflows.WorkflowError, match=r"^Import failed: error: no rows imported from .*; "
                                                      r".*datasets/faces was not changed$"):
        workflows.import_dataset("csv", str(bad), "faces", replace=True)
    assert snapshot(out) == before
    out2, last = workflows.import_dataset("folders", str(faces), "faces", replace=True)
    assert out2 == out and "rejected" not in last
    assert len(json.loads((out / "dataset.json").read_text())["classes"]) == 2
    assert (out / "manifest.csv").read_text().count("\n") == 12     # header + 11 faces
    assert sorted(p.name for p in out.parent.iterdir()) == ["faces"]


def test_the_question_names_the_runs_that_use_the_dataset(empty_project, faces):
    from data_tools.rundir import RunDir
    out, _ = workflows.import_dataset("folders", str(faces), "faces")
    run = RunDir(empty_project / "runs" / "r1")
    run.path.mkdir(parents=True)
    run.write_config({"dataset": str(out)})
    with pytest.raises(workflows.DatasetExists, match=r"\(12 images; used by 1 run\(s\): r1\)"):
        workflows.import_dataset("folders", str(faces), "faces")


def _import(app, root: str, name: str):
    app.switch_page("views/data.py").run()
    app.selectbox(key="imp_format").set_value("folders")
    app.text_input(key="imp_root").input(root)
    app.text_input(key="imp_name").input(name)
    [b for b in app.button if b.label == "Import"][0].click().run()
    return app


def test_the_data_page_asks_before_replacing(empty_project, faces, app):
    app.run()
    _import(app, str(faces), "faces")
    assert not app.exception and not app.error, [e.value for e in app.error]
    out = empty_project / "datasets" / "faces"
    before = snapshot(out)
    (faces / "sad" / "sad0.png").unlink()
    _import(app, str(faces), "faces")
    assert not app.exception and not app.error
    assert [w.value for w in app.warning if "already holds" in w.value] == [
        "datasets/faces already holds a dataset \\(12 images\\)\\. Replacing it changes what the runs and audits "
        "that use it read\\. Replace it with this import?"]
    assert snapshot(out) == before                               # asked, nothing replaced yet
    app.button(key="imp_keep").click().run()                     # keep it: the question goes away
    assert not [w for w in app.warning if "already holds" in w.value] and snapshot(out) == before
    _import(app, str(faces), "faces")
    app.button(key="imp_replace").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any("Imported into datasets/faces" in s.value for s in app.success)
    assert not [w for w in app.warning if "already holds" in w.value]
    assert (out / "manifest.csv").read_text().count("\n") == 12
