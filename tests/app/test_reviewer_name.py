"""Issue 24 item 7: with no reviewer name set, decisions were recorded with an empty reviewer and
nothing asked for one. Decided: the login name of the account running the app stands in (the app
listens on loopback), is recorded with every decision and shown where decisions are made, with the
way to set another; the first key press is not interrupted by a question."""
from __future__ import annotations

from pathlib import Path

from app.components import reviewer
from support.apptest import audit_of, scores_of


def test_the_login_name_stands_in_and_is_never_empty(empty_project, monkeypatch):
    from app.components.project import Settings, save_settings
    monkeypatch.setattr(reviewer.getpass, "getuser", lambda: "ana.k")
    assert reviewer.name() == "ana.k" and not reviewer.is_set()
    assert reviewer.caption(lambda t: t) == "Reviewer: **ana.k** (your login name; set your name in Settings)"

    def no_user():
        raise OSError("no user name")
    monkeypatch.setattr(reviewer.getpass, "getuser", no_user)
    assert reviewer.name() == reviewer.FALLBACK == "unnamed reviewer"
    save_settings(Settings(reviewer="  Bea  "))
    assert reviewer.name() == "Bea" and reviewer.is_set()
    assert reviewer.caption(lambda t: t) == "Reviewer: **Bea**"


def test_a_review_decision_without_a_name_records_the_login_name(project, app):
    app.run()
    app.button(key="act_keep").click().run()
    assert not app.exception, [e.value for e in app.exception]
    login = reviewer.login_name()
    assert login and list(audit_of(project).latest()["reviewer"]) == [login]
    assert any(c.value == f"Reviewer: **{login}**" for c in app.sidebar.caption)


def test_a_gallery_action_without_a_name_records_the_login_name_and_says_so(project):
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    config.set_option("server.address", "127.0.0.1")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "views" / "gallery.py"),
                           default_timeout=60)
    at.run()
    login = reviewer.login_name()
    assert f"Reviewer: **{login}** (your login name; set your name in Settings)" in [c.value for c in at.caption]
    boxes = [c for c in at.checkbox if c.key.startswith("gal_box_")][:2]
    for c in boxes:
        c.check().run()
    at.selectbox(key="gal_action").set_value("keep").run()
    at.button(key="gal_apply").click().run()
    assert not at.exception, [e.value for e in at.exception]
    latest = audit_of(project).latest()
    assert len(latest) == 2 and set(latest["reviewer"]) == {login}


def test_settings_say_under_which_name_decisions_are_recorded(empty_project, app):
    app.run()
    app.switch_page("views/settings.py").run()
    login = reviewer.login_name()
    assert (f"Decisions are recorded as: **{login}** (your login name; set your name in Settings)"
            in [c.value for c in app.caption])
    app.text_input(key="set_reviewer").input("Ana")
    [b for b in app.button if b.label == "Save settings"][0].click().run()
    assert "Decisions are recorded as: **Ana**" in [c.value for c in app.caption]
