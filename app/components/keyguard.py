"""Keys the Review page cannot take are never dropped silently (issue 11 §2).

Streamlit binds a button's keyboard shortcut only once the button is in the page. The Review page draws
the decision buttons right after the face's heading (before the CAM panels), and a decision whose face
was not drawn yet is refused on the server with a message (`decisions._record`). This guard covers the
moment before the buttons exist: a decision key pressed then shows a notice saying it was not applied,
instead of doing nothing. It never replays the key: that would decide a face nobody has seen.
Likewise a decision key pressed while a control has the focus (a sidebar filter just clicked: Streamlit
then ignores shortcuts) shows a notice and releases the focus, so the next press decides."""
from __future__ import annotations

import streamlit as st

KEYS = ["k", "a", "x", "u", "z", "ArrowLeft", "ArrowRight"] + [str(i) for i in range(1, 10)]
READY_SELECTOR = ".st-key-act_keep button"      # the Keep button: present = the page takes keys
NOTICE_ID = "fer-keyguard-notice"

_SCRIPT = """
<span id="fer-keyguard" style="display:none"></span>
<script>
(function () {
  if (window.__ferKeyGuard) { return; }
  window.__ferKeyGuard = true;
  const KEYS = new Set(%(keys)s);
  let timer = null;
  function onReview() { return !!document.getElementById("fer-keyguard"); }
  function ready() { return !!document.querySelector(%(ready)s); }
  function notice(key, why) {
    let n = document.getElementById(%(nid)s);
    if (!n) {
      n = document.createElement("div");
      n.id = %(nid)s;
      n.setAttribute("role", "status");
      n.style.cssText = "position:fixed;left:50%%;bottom:24px;transform:translateX(-50%%);z-index:100000;" +
        "background:#fff3cd;color:#664d03;border:1px solid #ffecb5;border-radius:6px;padding:8px 14px;" +
        "font:14px sans-serif;box-shadow:0 2px 8px rgba(0,0,0,.15)";
      document.body.appendChild(n);
    }
    n.textContent = why === "focus"
      ? "\u201c" + key + "\u201d was not applied: a control (a filter, a toggle) had the keyboard focus. " +
        "It is released now: press the key again."
      : "Not ready yet: \u201c" + key + "\u201d was not applied, this face is still loading. " +
        "Press it again once the decision buttons show.";
    n.style.display = "block";
    clearTimeout(timer);
    timer = setTimeout(function () { n.style.display = "none"; }, 4000);
  }
  const TYPING = /^(text|search|number|email|password|url|tel)$/;
  document.addEventListener("keydown", function (e) {
    if (!KEYS.has(e.key) || e.ctrlKey || e.metaKey || e.altKey || !onReview()) { return; }
    const t = e.target;
    if (t && (t.isContentEditable || t.tagName === "TEXTAREA" ||
              (t.tagName === "INPUT" && TYPING.test(t.type || "text")))) { return; }   // typing: not a key
    if (t && t !== document.body && t.matches &&
        t.matches("input, select, [role=radio], [role=switch], [role=checkbox], [role=slider], [role=combobox]")) {
      // Streamlit ignores shortcuts while a control has the focus (after clicking a sidebar filter):
      // say so and release the focus, so that the next press decides
      t.blur();
      notice(e.key, "focus");
      return;
    }
    if (!ready()) { notice(e.key, "loading"); }
  }, true);
})();
</script>
"""


def install() -> None:
    """Put the guard in the page (once per browser tab; it acts only while the Review page is shown)."""
    import json
    st.html(_SCRIPT % {"keys": json.dumps(KEYS), "ready": json.dumps(READY_SELECTOR), "nid": json.dumps(NOTICE_ID)},
            unsafe_allow_javascript=True)
