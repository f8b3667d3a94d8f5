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
    # issue 11 item 10: the valid part is saved, the invalid line is named
    assert len(app.error) == 1 and "relative/path" in app.error[0].value and "not an absolute path" in app.error[0].value
    assert json.loads((empty_project / "settings.json").read_text()) == {
        "reviewer": "Ana", "allowed_roots": [str(tmp_path.resolve())]}
    assert any("1 allowed root(s); 1 line(s) refused" in m.value for m in app.success)
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
    assert json.loads((empty_project / "settings.json").read_text())["allowed_roots"] == []


def test_data_page_imports_a_csv_with_its_own_column_names(empty_project, app, tmp_path):
    """Issue 11 item 9: a CSV with `file,emotion` columns imports from the app (the CLI's --path-col,
    --label-col); without the column fields it failed."""
    from data_tools.images import write_image
    import numpy as np
    src = tmp_path / "faces"
    rng = np.random.default_rng(0)
    rows = ["file,emotion,part"]
    for i in range(8):
        cls = ("happy", "sad")[i % 2]
        write_image(src / "img" / f"f{i}.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        rows.append(f"img/f{i}.png,{cls},{'train' if i < 6 else 'test'}")
    (src / "labels.csv").write_text("\n".join(rows) + "\n")
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": [str(tmp_path)]}))
    app.run()
    app.switch_page("views/data.py").run()
    app.selectbox(key="imp_format").set_value("csv")
    app.text_input(key="imp_root").input(str(src))
    app.text_input(key="imp_name").input("own")
    app.text_input(key="imp_path_col").input("file")
    app.text_input(key="imp_label_col").input("emotion")
    app.text_input(key="imp_split_col").input("part")
    [b for b in app.button if b.label == "Import"][0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    import pandas as pd
    m = pd.read_csv(empty_project / "datasets" / "own" / "manifest.csv", dtype=str)
    assert m["path"].tolist() == [f"img/f{i}.png" for i in range(8)]
    assert m["label"].tolist() == ["happy", "sad"] * 4
    assert m["split"].tolist() == ["train"] * 6 + ["test"] * 2


def test_data_page_imports_own_predictions_into_a_run(project, app, tmp_path):
    """Issue 11 item 8: the Data page's form makes a run from a predictions file (no training); a bad
    file gets the command's one line, naming file and row."""
    import numpy as np
    import pandas as pd
    from data_tools.rundir import RunDir
    ds = project / "datasets" / "demo"
    classes = json.loads((ds / "dataset.json").read_text())["classes"]
    m = pd.read_csv(ds / "manifest.csv", dtype=str)
    train = m[m["split"] == "train"]
    p = np.random.default_rng(0).dirichlet(np.ones(len(classes)), len(train))
    df = pd.DataFrame(p, columns=[f"prob_{c}" for c in classes])
    df.insert(0, "sample_id", train["sample_id"].to_numpy())
    f = ds / "mine.csv"                        # under datasets/, an allowed root
    df.to_csv(f, index=False)
    app.run()
    app.switch_page("views/data.py").run()
    app.selectbox(key="pred_dataset").set_value("demo")
    app.text_input(key="pred_file").input(str(f))
    app.text_input(key="pred_name").input("mine")
    [b for b in app.button if b.label == "Import predictions"][0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    run = RunDir(project / "runs" / "mine")
    assert run.is_finished() and not run.has_checkpoint()
    assert len(run.read_scores()) == len(train)
    bad = df.copy()
    bad.loc[2, f"prob_{classes[0]}"] = np.nan
    bad.to_csv(f, index=False)
    app.text_input(key="pred_name").input("bad")
    [b for b in app.button if b.label == "Import predictions"][0].click().run()
    assert [e.value.replace("\\", "") for e in app.error] == [
        f"Import failed: error: {f}: line 4 (sample_id '{train['sample_id'].iloc[2]}'): probability "
        f"prob_{classes[0]} is empty"]
    assert not (project / "runs" / "bad" / "scores.parquet").exists()


def _loop(where) -> str:
    """A symlink loop: where/a -> where/b -> where/a."""
    where.mkdir(parents=True, exist_ok=True)
    os.symlink(where / "b", where / "a")
    os.symlink(where / "a", where / "b")
    return str(where / "a")


def test_settings_save_the_valid_lines_when_one_is_a_symlink_loop(empty_project, app, tmp_path):
    """Issue 22 item 12 (a regression of issue 11 item 10): a loop folder raised in Settings and nothing
    was saved, the reviewer name and the valid roots included."""
    loop = _loop(tmp_path / "loop")
    good = tmp_path / "good"
    good.mkdir()
    app.run()
    app.switch_page("views/settings.py").run()
    app.text_input(key="set_reviewer").input("Ana")
    app.text_area(key="set_roots").input(f"{loop}\n{good}")
    [b for b in app.button if b.label == "Save settings"][0].click().run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        f"Not saved: '{loop}' cannot be resolved \\(a symlink loop, or a link that cannot be read\\)."]
    assert json.loads((empty_project / "settings.json").read_text()) == {
        "reviewer": "Ana", "allowed_roots": [str(good.resolve())]}


@pytest.mark.parametrize("where", ["settings", "image_root", "relative_image_root"])
def test_a_symlink_loop_as_a_root_breaks_no_page(project, app, tmp_path, where):
    """Issue 22 item 12: a loop as a settings root or as a dataset's image_root made every page show
    'could not be shown', Settings included (so it could not be repaired from the app). Now such a root
    is left out and named once, on the Settings page."""
    loop = _loop(tmp_path / "loop")
    if where == "settings":
        (project / "settings.json").write_text(json.dumps({"reviewer": "Ana", "allowed_roots": [loop]}))
    else:
        bad = project / "datasets" / "looped"
        bad.mkdir()
        if where == "relative_image_root":
            loop = _loop(bad)
        (bad / "dataset.json").write_text(json.dumps({"classes": ["a", "b"], "format": "csv", "name": "looped",
                                                      "image_root": loop if where == "image_root" else "a"}))
        (bad / "manifest.csv").write_text("sample_id,path,label,split\n1,x.png,a,train\n")
    for page in ("views/review.py", "views/data.py", "views/gallery.py", "views/insights.py", "views/export.py",
                 "views/train.py", "views/settings.py"):
        app.switch_page(page).run()
        assert not app.exception, page
        assert not [e.value for e in app.error if "could not be shown" in e.value], page
    if where != "settings":        # the looped dataset itself: shown, its images missing
        app.switch_page("views/data.py").run()
        app.selectbox(key="data_dataset").set_value("looped").run()
        assert not app.exception and not app.error
        assert [c.value for c in app.caption if c.value == "no images"]
        app.switch_page("views/settings.py").run()
    assert [w.value for w in app.warning if "cannot be resolved" in w.value] == [
        f"Not used as an allowed root: '{loop}' cannot be resolved \\(a symlink loop, or a link that cannot be "
        "read\\)."]


SECRET = "root:$6$SECRETHASH0123$abcdef:19000:0:99999:7:::"


def _secret_file(tmp_path):
    """A shadow-like file outside every allowed root (the project is in tmp_path/empty, the data in
    tmp_path/data)."""
    f = tmp_path / "etc" / "shadow"
    f.parent.mkdir()
    f.write_text(SECRET + "\ndaemon:*:19000:0:99999:7:::\nsecondline:SECRET2:1:2:3:::\n")
    return f


def _page_text(app) -> str:
    return "\n".join(str(getattr(e, "value", "")) for e in [*app.error, *app.warning, *app.success, *app.info,
                                                             *app.markdown, *app.caption, *app.exception])


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
@pytest.mark.parametrize("columns", ["default", "first_line"])
def test_label_csv_outside_the_allowed_roots_is_refused_and_never_read(empty_project, app, tmp_path, how, columns):
    """Issue 22 item 2: the Data page's "Label CSV" was not checked: /etc/shadow with its first line as
    column names was copied into report.csv, and with the default columns the error quoted the first
    line. Now the path is refused in one line that names it, before anything reads the file."""
    secret = _secret_file(tmp_path)
    data = tmp_path / "data" / "faces"
    (data / "happy").mkdir(parents=True)
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": [str(data.parent)]}))
    if how == "absolute":
        typed, named = str(secret), str(secret)
    elif how == "dotdot":
        typed = "../../etc/shadow"
        named = str(data.resolve() / typed)
    else:
        os.symlink(secret, data / "labels.csv")
        typed, named = "labels.csv", str(data.resolve() / "labels.csv")
    app.run()
    app.switch_page("views/data.py").run()
    app.selectbox(key="imp_format").set_value("csv")
    app.text_input(key="imp_root").input(str(data))
    app.text_input(key="imp_name").input("mine")
    app.text_input(key="imp_csv").input(typed)
    if columns == "first_line":
        app.text_input(key="imp_path_col").input("root")
        app.text_input(key="imp_label_col").input("19000")
    [b for b in app.button if b.label == "Import"][0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    from app.components.project import PathRefused, check_path
    with pytest.raises(PathRefused) as refusal:
        check_path(named)
    assert [e.value.replace("\\", "") for e in app.error] == [f"Label CSV: {refusal.value}"]
    assert f"'{named}'" in app.error[0].value.replace("\\", "") and "\n" not in app.error[0].value
    text = _page_text(app)
    assert "SECRET" not in text and "daemon" not in text
    assert not (empty_project / "datasets" / "mine").exists()
    assert not (empty_project / "datasets" / "mine.rejected.csv").exists()
    assert not list((empty_project / "datasets").glob(".mine*")) if (empty_project / "datasets").exists() else True


def test_label_csv_under_the_allowed_roots_still_imports(empty_project, app, tmp_path):
    """The check does not stop a CSV named relative to the folder, nor an absolute one under a root."""
    from data_tools.images import write_image
    import numpy as np
    src = tmp_path / "data" / "faces"
    rng = np.random.default_rng(0)
    rows = ["file,emotion"]
    for i in range(8):
        write_image(src / "img" / f"f{i}.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        rows.append(f"img/f{i}.png,{('happy', 'sad')[i % 2]}")
    (src / "lists").mkdir()
    (src / "lists" / "labels.csv").write_text("\n".join(rows) + "\n")
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": [str(src.parent)]}))
    app.run()
    for name, typed in (("rel", "lists/labels.csv"), ("abs", str(src / "lists" / "labels.csv"))):
        app.switch_page("views/data.py").run()
        app.selectbox(key="imp_format").set_value("csv")
        app.text_input(key="imp_root").input(str(src))
        app.text_input(key="imp_name").input(name)
        app.text_input(key="imp_csv").input(typed)
        app.text_input(key="imp_path_col").input("file")
        app.text_input(key="imp_label_col").input("emotion")
        [b for b in app.button if b.label == "Import"][0].click().run()
        assert not app.exception, [e.value for e in app.exception]
        assert not app.error, [e.value for e in app.error]
        assert len((empty_project / "datasets" / name / "manifest.csv").read_text().splitlines()) == 9


def test_predictions_file_outside_the_allowed_roots_is_refused_and_never_read(project, app, tmp_path):
    """The Data page's predictions field: refused in one line naming the file, its content not shown."""
    secret = _secret_file(tmp_path)
    app.run()
    app.switch_page("views/data.py").run()
    app.selectbox(key="pred_dataset").set_value("demo")
    app.text_input(key="pred_file").input(str(secret))
    app.text_input(key="pred_name").input("mine")
    [b for b in app.button if b.label == "Import predictions"][0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    from app.components.project import PathRefused, check_path
    with pytest.raises(PathRefused) as refusal:
        check_path(secret)
    assert [e.value.replace("\\", "") for e in app.error] == [f"Predictions file: {refusal.value}"]
    assert "SECRET" not in _page_text(app)
    assert not (project / "runs" / "mine").exists()


def test_data_page_shows_image_issue_counts_right_after_an_import(empty_project, app, tmp_path):
    """issue 23: the import writes issues.parquet; the Data page shows the counts per type and the
    conflict/leak groups first, before any training."""
    import pandas as pd
    from support.planted_issues import make_dataset
    src = make_dataset(tmp_path / "planted")
    m = pd.read_csv(src / "manifest.csv", dtype=str)
    m[["path", "label", "split"]].to_csv(tmp_path / "planted" / "img" / "labels.csv", index=False)
    (empty_project / "settings.json").write_text(json.dumps({"reviewer": "", "allowed_roots": [str(tmp_path)]}))
    app.run()
    app.switch_page("views/data.py").run()
    app.selectbox(key="imp_format").set_value("csv")
    app.text_input(key="imp_root").input(str(tmp_path / "planted" / "img"))
    app.text_input(key="imp_name").input("planted")
    app.text_input(key="imp_csv").input("labels.csv")
    app.text_input(key="imp_split_col").input("split")
    [b for b in app.button if b.label == "Import"][0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert (empty_project / "datasets" / "planted" / "issues.parquet").is_file()
    app.run()
    assert any(h.value == "Image issues" for h in app.subheader)
    frames = [d.value for d in app.dataframe]
    counts = next(f for f in frames if list(f.columns) == ["issue", "images"]).set_index("issue")["images"].to_dict()
    assert counts == {"label_conflict": 2, "split_leak": 2, "exact_duplicate": 6, "near_duplicate": 8,
                      "blank": 1, "dark": 1, "bright": 1, "low_information": 1, "blurry": 1}
    groups = next(f for f in frames if list(f.columns) == ["issue", "group", "detail", "sample_id"])
    assert list(groups["issue"]) == ["label_conflict", "split_leak"]
    assert "labels happy/sad (label conflict)" in groups["detail"].iloc[0]
