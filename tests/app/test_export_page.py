"""Export page: summary, the written copy's content (formula cells neutralised), retrain with the audit
carried over."""
from __future__ import annotations

import pandas as pd

from support.apptest import audit_of, run_path, scores_of


def _decide(home):
    from data_tools.audit import Decision
    s = scores_of(home)
    a, b, c = s["sample_id"].iloc[:3]
    other = next(k for k in sorted(set(s["label"])) if k != s["label"].iloc[0])
    audit = audit_of(home)
    from data_tools.audit import Audit
    audit = Audit.open(audit.path)
    audit.record_many([Decision(a, "relabel", other, "ana", "=HYPERLINK(\"x\")"),
                       Decision(b, "remove", None, "ana"), Decision(c, "keep", None, "ana")])
    return a, b, c, other


def test_export_page_writes_the_corrected_csv(project, app):
    a, b, c, other = _decide(project)
    app.run()
    app.switch_page("views/export.py").run()
    assert not app.exception
    labels = [d.label for d in app.get("download_button")]
    assert labels == ["Download corrected CSV", "Download rafdb format", "Download ferplus format",
                      "Download manifest (zip)"]
    summary = app.dataframe[0].value
    total = summary[summary["class"] == "total"].iloc[0]
    assert (total["relabel_from"], total["remove"], total["keep"]) == (1, 1, 1)
    app.button(key="write_beside").click().run()
    assert not app.exception
    out = project / "datasets" / "demo-corrected.csv"
    assert out.is_file()
    df = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("sample_id")
    assert (df.loc[a, "action"], df.loc[a, "label"]) == ("relabel", other)   # label = the corrected label
    assert df.loc[a, "original_label"] != other
    assert df.loc[a, "note"].startswith("'=")                       # neutralised formula
    assert b not in df.index                                        # removed: dropped, as in every format
    assert df.loc[c, "label"] == df.loc[c, "original_label"]
    undecided = df[df["action"] == "undecided"]
    assert len(undecided) == len(df) - 2 and (undecided["label"] == undecided["original_label"]).all()


def test_download_payloads_match_the_export_module(project):
    from data_tools import export as ex
    from data_tools.manifest import load_dataset
    _decide(project)
    ds = load_dataset(project / "datasets" / "demo")
    table = ex.corrected_table(ds, audit_of(project).latest(), scores_of(project))
    data = ex.export_bytes("csv", table).decode()
    assert "'=HYPERLINK" in data and "\n=HYPERLINK" not in data


def test_retrain_carries_the_audit_over(project, app):
    import time
    from app import jobs
    from data_tools.audit import Audit
    a, b, c, other = _decide(project)
    app.run()
    app.switch_page("views/export.py").run()
    app.button(key="retrain").click().run()
    assert not app.exception
    children = [r for r in (project / "runs").iterdir() if r.name != run_path(project).name]
    assert len(children) == 1
    child = children[0]
    try:
        job = jobs.read_job(child)
        assert job["parent_run"] == run_path(project).name
        assert "eac_core.train" in job["argv"]
        new_ds = project / "datasets" / child.name.rsplit("-", 1)[0]
        m = pd.read_csv(new_ds / "manifest.csv", dtype=str, keep_default_na=False).set_index("sample_id")
        assert m.loc[a, "label"] == other and b not in m.index
        carried = Audit(child / "audit.sqlite").latest().set_index("sample_id")
        assert set(carried.index) == {a, b, c} and (carried["via"] == "carried over").all()
        assert any("corrected run" in getattr(mt, "label", "") for mt in app.metric)
    finally:
        jobs.stop(child)
        deadline = time.time() + 30
        while jobs.is_alive(child) and time.time() < deadline:
            time.sleep(0.2)
        assert not jobs.is_alive(child)


def test_a_formula_file_name_refuses_only_the_dataset_format(project, app):
    """Issue 9, hole 4: the RAF-DB list names files verbatim, so a name a spreadsheet would run is
    refused there (with the sample named) while the CSV and the manifest still download."""
    import json
    ds = project / "datasets" / "demo"
    info = json.loads((ds / "dataset.json").read_text())
    (ds / "dataset.json").write_text(json.dumps({**info, "format": "rafdb"}))
    m = pd.read_csv(ds / "manifest.csv", dtype=str, keep_default_na=False)
    sid = m["sample_id"].iloc[0]
    m.loc[0, "path"] = "images/=cmd.png"
    m.to_csv(ds / "manifest.csv", index=False)
    app.run()
    app.switch_page("views/export.py").run()
    assert not app.exception
    assert [d.label for d in app.get("download_button")] == ["Download corrected CSV", "Download manifest (zip)"]
    assert [w.value for w in app.warning] == [
        f"No rafdb download: sample {sid}: file name '=cmd.png' starts with '=', which a spreadsheet runs "
        "as a formula; rename the file, or export \\-\\-format csv \\(formulas neutralised\\) or manifest"]


def test_downloads_are_built_only_when_asked(project, app, monkeypatch):
    """Issue 11 item 11: rendering the Export page builds neither the CSV nor the manifest zip (they are
    built when their button is clicked); the buttons are there."""
    from data_tools import export as ex
    built = []
    real = ex.export_bytes

    def counting(kind, *a, **k):
        built.append(kind)
        return real(kind, *a, **k)

    monkeypatch.setattr(ex, "export_bytes", counting)
    _decide(project)
    app.run()
    app.switch_page("views/export.py").run()
    assert not app.exception
    assert [d.label for d in app.get("download_button")] == [
        "Download corrected CSV", "Download rafdb format", "Download ferplus format", "Download manifest (zip)"]
    assert "manifest" not in built and "csv" not in built, built


def test_the_demo_gets_the_label_files_the_command_line_writes(project, app):
    """Issue 24 item 5: the Export page said the demo "has no label file format of its own" while
    `data_tools export --format rafdb|ferplus` writes both for it: the page offers the same bytes."""
    from data_tools import export as ex
    from data_tools.manifest import load_dataset
    _decide(project)
    app.run()
    app.switch_page("views/export.py").run()
    assert not app.exception
    text = " ".join(str(getattr(e, "value", "")) for e in [*app.caption, *app.markdown, *app.warning])
    assert "has no label file format" not in text and "No rafdb" not in text and "No ferplus" not in text
    ds = load_dataset(project / "datasets" / "demo")
    table = ex.corrected_table(ds, audit_of(project).latest(), scores_of(project))
    buttons = {d.label: d for d in app.get("download_button")}
    for kind in ("rafdb", "ferplus"):
        assert f"Download {kind} format" in buttons
        assert ex.export_bytes(kind, table, ds)                 # what the command line writes
    assert app.radio(key="beside_kind").options == ["review CSV", "dataset folder to train on", "RAF-DB list",
                                                    "FERPlus CSV"]


def test_a_dataset_the_label_files_cannot_hold_says_why_in_a_caption(project, app):
    """Classes RAF-DB and FERPlus do not have: no download of those, a caption naming the first sample."""
    import json
    ds = project / "datasets" / "demo"
    m = pd.read_csv(ds / "manifest.csv", dtype=str, keep_default_na=False)
    info = json.loads((ds / "dataset.json").read_text())
    rename = {c: f"kind{i}" for i, c in enumerate(info["classes"])}
    for col in ("label", "true_label", "source_label"):
        if col in m.columns:
            m[col] = m[col].map(lambda v: rename.get(v, v))
    m.to_csv(ds / "manifest.csv", index=False)
    (ds / "dataset.json").write_text(json.dumps({**info, "classes": list(rename.values())}))
    app.run()
    app.switch_page("views/export.py").run()
    assert not app.exception
    assert [d.label for d in app.get("download_button")] == ["Download corrected CSV", "Download manifest (zip)"]
    assert not app.warning
    no = [c.value for c in app.caption if c.value.startswith(("No rafdb", "No ferplus"))]
    assert len(no) == 2 and no[0].startswith("No rafdb download: sample ") and "has no RAF-DB number" in no[0]
    assert no[1].startswith("No ferplus download: sample ") and "is not a FERPlus class" in no[1]


def test_the_export_page_says_who_decided_and_whether_they_agreed(project, app):
    """Issue 24, two reviewers: the page's copy (the same table as its downloads) carries `reviewers` and
    `agreement` from the audit's events."""
    from data_tools.audit import Audit
    s = scores_of(project)
    a, b, c = s["sample_id"].iloc[:3]
    app.run()
    audit = Audit.open(audit_of(project).path)
    audit.record(a, "keep", reviewer="ana", session="A")
    audit.record(b, "remove", reviewer="ana", session="A")
    audit.record(a, "keep", reviewer="ben", session="B")          # agreed
    audit.record(b, "unsure", reviewer="ben", session="B")        # disagreed
    audit.record(c, "keep", reviewer="ben", session="B")          # ben alone
    app.switch_page("views/export.py").run()
    assert not app.exception
    app.button(key="write_beside").click().run()
    df = pd.read_csv(project / "datasets" / "demo-corrected.csv", dtype=str, keep_default_na=False).set_index("sample_id")
    assert df.loc[[a, b, c], ["reviewer", "reviewers", "agreement"]].values.tolist() == [
        ["ben", "ana;ben", "agreed"], ["ben", "ana;ben", "disagreed"], ["ben", "ben", ""]]
    assert set(df.drop(index=[a, b, c])["agreement"]) == {""}
