"""Who decides (issue 24 item 7): with no reviewer name in Settings, decisions were recorded with an
empty reviewer and nothing asked for one. Now every decision has a name: the one set in Settings,
else the login name of the account running the app (the app listens on loopback, so that is the
person at this computer), shown wherever decisions are made with the way to change it. No question
interrupts the first key press.

Plain functions; every page that records a decision takes its name from `name()` (through
`app.components.ui.reviewer`)."""
from __future__ import annotations

import getpass

from app.components.project import Settings, load_settings

FALLBACK = "unnamed reviewer"      # no name in Settings and no login name to be found


def login_name() -> str:
    """The account's login name (getpass: $LOGNAME, $USER, ..., the password database), else FALLBACK."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name to be found (a container without one)
        name = ""
    return name.strip() or FALLBACK


def name(settings: Settings | None = None) -> str:
    """The name decisions are recorded under: Settings' reviewer name, else the login name. Never empty."""
    set_name = (settings or load_settings()).reviewer.strip()
    return set_name or login_name()


def is_set(settings: Settings | None = None) -> bool:
    """Whether the reviewer name was set in Settings (else the login name stands in)."""
    return bool((settings or load_settings()).reviewer.strip())


def caption(md_escape) -> str:
    """'Reviewer: **ana**', or with the login name: 'Reviewer: **root** (your login name; set your
    name in Settings)'. `md_escape` escapes the name for markdown."""
    s = load_settings()
    shown = f"Reviewer: **{md_escape(name(s))}**"
    return shown if is_set(s) else shown + " (your login name; set your name in Settings)"
