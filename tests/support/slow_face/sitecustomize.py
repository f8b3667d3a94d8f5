"""Loaded at start-up by the interpreter of a test server whose PYTHONPATH begins with this folder
(support.browser.StreamlitServer(..., slow_face_s=N)): the Review page then holds the face and its
decision buttons back N seconds after the key guard is in the page, the window a slow machine has by
itself (tests/app/test_browser_review_flow.py). The product carries no hook for this."""
import os
import time

_DELAY = float(os.environ.get("FER_AUDIT_TEST_SLOW_FACE_S") or 0)

if _DELAY > 0:
    from app.components import keyguard

    _install = keyguard.install

    def _install_then_wait() -> None:
        _install()
        time.sleep(_DELAY)

    keyguard.install = _install_then_wait
