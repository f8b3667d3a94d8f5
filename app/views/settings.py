"""The Settings page: reviewer name (recorded with every decision) and allowed data roots (settings.json)."""
from __future__ import annotations

import streamlit as st

from app.components import reviewer as who, ui
from app.components.project import (SETTINGS_FILE, PathRefused, Settings, allowed_roots, check_allowed_root,
                                    home, load_settings, save_settings, unusable_roots)


def render() -> None:
    st.header("Settings")
    s = load_settings()
    with st.form("settings_form"):
        reviewer = st.text_input("Reviewer name", value=s.reviewer, key="set_reviewer",
                                 help="Recorded with every decision you make.")
        roots = st.text_area("Allowed data roots (one folder per line)", value="\n".join(s.allowed_roots),
                             key="set_roots", height=120,
                             help="Folders the app may read datasets and weight files from, besides the "
                                  "project's datasets/ and runs/ and each imported dataset's image root.")
        saved = st.form_submit_button("Save settings", type="primary")
    if saved:
        new_roots, problems = [], []
        for line in roots.splitlines():
            r = line.strip()
            if not r:
                continue
            try:
                new_roots.append(str(check_allowed_root(r)))
            except PathRefused as e:
                problems.append(str(e))
        # what is valid is saved; each refused line is named (issue 11 item 10: one bad folder no longer
        # discards the reviewer name and the other roots)
        path = save_settings(Settings(reviewer=reviewer.strip(), allowed_roots=new_roots))
        st.toast("Settings saved" + (f" ({len(problems)} line(s) not)" if problems else ""),
                 icon=":material/check_circle:")
        st.success(f"Saved to {ui.md_code(path)}: the reviewer name and {len(new_roots)} allowed root(s)"
                   + (f"; {len(problems)} line(s) refused, see below." if problems else "."))
        for msg in problems:
            st.error(f"Not saved: {ui.md_escape(msg)}.")
    st.caption("Decisions are recorded as: " + who.caption(ui.md_escape).removeprefix("Reviewer: "))
    st.subheader("Where the app may read", anchor=False)
    st.markdown("\n".join(f"- {ui.md_code(r)}" for r in allowed_roots()))
    for msg in unusable_roots():        # a loop in settings.json or a dataset's image_root: left out, named once
        st.warning(f"Not used as an allowed root: {ui.md_escape(msg)}.")
    st.caption(f"Project folder: {ui.md_code(home())} (set FER_AUDIT_HOME to use another); settings in `{SETTINGS_FILE}`.")


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Settings page"):
        render()
