"""End to end in a real browser with 200 classes (issue 10 §2): `streamlit run app/main.py` on a run of
the synthetic class000..class199 dataset, a suspect relabelled through the type-ahead class picker
(typed, not scrolled to), the decision read back from the audit database, a second one through the
digit key of its top suggestion, and the corrected CSV downloaded from the Export page.

Screenshots go to test-artifacts/ (git-ignored)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from support import browser as bs
from support.many_class_project import class_names, make_many_class_project

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(bs.missing_reason() is not None, reason=bs.missing_reason() or "")]

K = 200
RUN = "many"
CAMS_MS = 300_000           # the first CAMs wait for torch and the model on 2 shared, busy cores
STEP_MS = 30_000


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    h = tmp_path_factory.mktemp("browser_many")
    make_many_class_project(h, K, train_per_class=2, size=16, run_name=RUN)
    return h


def _toast(page, pattern: str) -> None:
    page.locator('[data-testid="stToast"]').filter(has_text=re.compile(pattern)).first.wait_for(
        state="visible", timeout=STEP_MS)


def test_relabel_through_the_class_picker_and_export(home, server, browser, tmp_path):
    from app.components.decisions import digit_classes
    from data_tools.audit import Audit
    from data_tools.rundir import RunDir
    names = class_names(K)
    scores = RunDir(home / "runs" / RUN).read_scores().sort_values("rank")
    scores["sample_id"] = scores["sample_id"].astype(str)
    by_id = scores.set_index("sample_id")
    first, second = scores["sample_id"].iloc[0], scores["sample_id"].iloc[1]
    top = digit_classes(names, by_id.loc[first])
    target = next(c for c in reversed(names) if c not in top and c != by_id.loc[first, "label"])
    audit = Audit(home / "runs" / RUN / "audit.sqlite")
    art = bs.ARTIFACTS
    art.mkdir(exist_ok=True)

    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    try:
        page.goto(server.url + "/", wait_until="domcontentloaded")
        # the four CAM panels of a 200-class run (the model loads in the background on a cold start)
        assert bs.wait_face(page, want=first, timeout_ms=CAMS_MS) == first
        page.get_by_text(f"1 · {top[0]} (").first.wait_for(timeout=STEP_MS)        # digit 1 = top suggestion
        page.get_by_text("most probable classes").first.wait_for(timeout=STEP_MS)  # the key help says so
        page.get_by_text("Class probabilities (top 10 of 200)").wait_for(timeout=STEP_MS)
        page.screenshot(path=str(art / "many-classes-review.png"))

        # the picker: type part of the name, the list narrows to it, Enter relabels
        picker = page.get_by_placeholder(f"Relabel to… type to find one of {K} classes")
        picker.click()
        page.keyboard.type(target[-3:])                                   # e.g. "199": digits typed, no key fires
        option = page.get_by_role("option", name=target, exact=True)
        option.wait_for(timeout=STEP_MS)
        assert page.get_by_role("option").count() < K                     # filtered while typing
        page.screenshot(path=str(art / "many-classes-picker.png"))
        page.keyboard.press("Enter")
        _toast(page, rf"relabelled to {target} · sample {first}")
        assert bs.wait_face(page, not_id=first, timeout_ms=STEP_MS) == second
        d = audit.decision(first)
        assert d is not None and (d["action"], d["new_label"]) == ("relabel", target)

        # the digit key 1 on the next face: its own most probable class
        best = digit_classes(names, by_id.loc[second])[0]
        page.screenshot(path=str(art / "many-classes-next.png"))
        assert page.evaluate("() => document.activeElement.tagName") != "INPUT"    # the keys work after a pick
        page.keyboard.press("1")
        _toast(page, rf"sample {second}")
        bs.wait_face(page, not_id=second, timeout_ms=STEP_MS)
        d2 = audit.decision(second)
        want2 = ("keep", None) if best == by_id.loc[second, "label"] else ("relabel", best)
        assert (d2["action"], d2["new_label"] or None) == want2

        # the corrected CSV
        df = bs.export_csv(page, tmp_path / "corrected_labels.csv", copy_as="many-classes-corrected.csv", timeout_ms=STEP_MS)
    finally:
        ctx.close()
    assert len(df) == 3 * K                                               # 2 train + 1 test per class
    assert (df.loc[first, "label"], df.loc[first, "original_label"], df.loc[first, "action"]) == \
        (target, by_id.loc[first, "label"], "relabel")
    assert df.loc[second, "label"] == (want2[1] or by_id.loc[second, "label"])
    rest = df.drop(index=[first, second])
    assert (rest["label"] == rest["original_label"]).all() and set(rest["action"]) == {"undecided"}
