"""The current face: original and mirrored image, each with its CAM for the given and the predicted
label (four panels of fixed size), a colour legend, and the explanation behind them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from app.components import loaders
from app.components.safetext import md_escape
from data_tools.rundir import RunDir

PANEL = 192  # px; every panel has this size so nothing moves between suspects


@st.cache_resource(max_entries=64, show_spinner=False)
def _explain(run: str, ckpt_mtime: float, image_path: str, given: str | None, img_mtime: float,
             pred: str | None = None):
    exp = loaders.explainer(Path(run))
    return exp.explain(image_path, given=given, display_size=PANEL, pred=pred)


WAITING = "cams_waiting_for_model"   # True while the panels wait for the model code (set by explain)


def explain(run: Path | RunDir, image_path: Path, given: str | None, pred: str | None = None):
    """The Explanation of one face (cached per checkpoint version and image), or None without a model.
    `pred`: the class of the second row of CAMs (the Review page passes the ranking's prediction, so the
    panels' "predicted" is the heading's; the checkpoint's own argmax stays `Explanation.pred`).

    On a freshly started server torch and the explainer are not imported yet (seconds): rather than
    make the first face wait, the import starts in the background and this returns None at once; the
    face is drawn from the scores, four_panels shows the plain image and mirror, and the page reruns
    when the model code is ready, the CAM panels then filling in (issue 9, Scale)."""
    st.session_state[WAITING] = False
    if not RunDir(run).has("checkpoint"):
        return None
    if not loaders.model_code_ready():
        loaders.prewarm_model_code()
        st.session_state[WAITING] = True        # the page calls poll_model_code() outside its fragments
        return None
    if loaders.explainer(run) is None:
        return None
    return _explain(str(run), RunDir(run).mtime("checkpoint"), str(image_path), given, loaders.mtime(image_path), pred)


_PREFETCH = None            # one background worker: the faces the reviewer will see next, explained in order


def prefetch(run: Path | RunDir, faces: list[tuple[Path, str | None, str | None]]) -> int:
    """Explain `faces` ((image path, given, predicted), the next ones in the queue) in a background
    thread while the reviewer looks at this one, into the same cache `explain` reads: the next key
    press then draws the CAM panels without computing them (issue 24: key -> next face under load).
    A face already cached costs a lookup; a key pressed before its face is done waits for that one
    computation (Streamlit computes a cached value once). Returns the faces queued (0 without a model)."""
    global _PREFETCH
    run = RunDir(run)
    if not faces or not run.has("checkpoint") or not loaders.model_code_ready() or loaders.explainer(run) is None:
        return 0
    from concurrent.futures import ThreadPoolExecutor
    if _PREFETCH is None:
        _PREFETCH = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fer-cam-prefetch")
    ck = run.mtime("checkpoint")
    jobs = [(str(run.path), ck, str(p), g, loaders.mtime(p), pr) for p, g, pr in faces if p is not None]

    def work() -> None:
        for j in jobs:
            try:
                _explain(*j)
            except Exception:  # noqa: BLE001 - the page explains (and reports) it when the face is shown
                pass
    _PREFETCH.submit(work)
    return len(jobs)


@st.cache_data(show_spinner=False, max_entries=64)
def legend(scale: tuple[float, float] | None = None) -> np.ndarray:
    """The CAM colour scale (eac_core.overlay.legend_bar), as wide as two panels, 0 marked."""
    from eac_core.overlay import legend_bar
    return legend_bar(length=2 * PANEL, thickness=14, scale=scale)


def legend_caption(scale: tuple[float, float] | None) -> str:
    """What the legend's colours mean, in numbers: one scale for all four panels, and where 0 is."""
    if scale is None:
        return "CAM colour scale, low → high"
    lo, hi = scale
    text = f"CAM colour scale, one for all four panels: {lo:.2g} (left) … {hi:.2g} (right)"
    if lo < 0 < hi:
        text += "; the white line is 0 (left of it: evidence against the class)"
    elif hi <= 0:
        text += "; every value is negative: evidence against both classes"
    return text


def _inline(img: np.ndarray) -> str:
    """A panel as an inline JPEG data URI: it arrives with the page update itself instead of as a
    separate media request that waits behind the rerun (measured: ~150-350 ms of the key-to-face time)."""
    import base64

    import cv2
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(_fit(img)[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _fit(img: np.ndarray) -> np.ndarray:
    if img.shape[0] == PANEL and img.shape[1] == PANEL:
        return img
    import cv2
    return cv2.resize(img, (PANEL, PANEL), interpolation=cv2.INTER_AREA if img.shape[0] > PANEL else cv2.INTER_LINEAR)


def four_panels(explanation, given: str, pred: str, image: np.ndarray | None = None, *,
                mirror_back: bool = False) -> None:
    """Rows: CAM for the given label, CAM for the predicted label; columns: original, mirrored
    (or, with mirror_back, the mirrored image's CAM flipped back onto the original frame).
    Four st.image panels captioned "given: <class>" / "predicted: <class>" (the browser tests find them so)."""
    side2 = "flipped_back" if mirror_back else "flipped"
    cols = st.columns(2, gap="small")
    cols[0].markdown("**Original**")
    cols[1].markdown("**Mirrored CAM, flipped back**" if mirror_back else "**Mirrored**")
    if explanation is None:
        loading = bool(st.session_state.get(WAITING))
        if image is not None:
            cols[0].image(_fit(image), width=PANEL, caption="original (CAMs loading…)" if loading else "original (no CAM)")
            cols[1].image(_fit(image if mirror_back else image[:, ::-1]), width=PANEL, caption="mirrored")
        if loading:
            st.caption("CAM panels: loading the model code…")
        return
    ov = explanation.overlays
    scales = getattr(explanation, "scales", {}) or {}
    for which, name in (("given", given), ("pred", pred)):
        if ("original", which) not in ov:
            continue
        row = st.columns(2, gap="small")
        for col, side in zip(row, ("original", side2)):
            img = ov.get((side, which))
            if img is not None:
                col.image(_inline(np.asarray(img)), width=PANEL,
                          caption=f"{'given' if which == 'given' else 'predicted'}: {md_escape(name)}")
    scale = next(iter(scales.values()), None)          # the explainer uses one scale for all panels
    scale = None if scale is None else (float(scale[0]), float(scale[1]))
    st.image(legend(scale), width=2 * PANEL, caption=legend_caption(scale))


def plain_image(path: Path | str) -> np.ndarray | None:
    """The face itself (RGB), for the panels when there are no CAMs; None when it cannot be read."""
    try:
        from data_tools.images import load_image
        return load_image(path)
    except Exception:  # noqa: BLE001 - an unreadable image: the panels stay empty, the page works
        return None


def poll_model_code() -> None:
    """While the panels wait for the model code, poll for it and rerun the page once it is there.
    Called by the page at its top level: a fragment nested in the Review page's own fragment would
    not be rerun on its timer."""
    if st.session_state.pop(WAITING, False) and not loaders.model_code_ready():
        _rerun_when_model_ready()


@st.fragment(run_every=1.0)
def _rerun_when_model_ready() -> None:
    """Polls (once a second, only while the model code loads) and reruns the page once it is ready, so
    the CAM panels of the face on screen fill in. Not faster: every rerun ends in Streamlit's garbage
    collection, and at 0.3 s the reruns starved the import thread of the GIL on two busy cores (torch
    was still importing after 150 s, measured with py-spy; at 1 s the panels came within 45 s)."""
    if loaders.model_code_ready():
        st.rerun()
