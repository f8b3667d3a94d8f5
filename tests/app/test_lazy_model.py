"""A freshly started server draws the first suspect (heading, image, numbers) before torch is imported;
the CAM panels fill in once the model code is loaded (issue 9, Scale: first render <= 2 s at 300k).

Run in a fresh interpreter: the pytest process may have imported torch already."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest


from support.apptest import MAIN, REPO, scores_of

pytestmark = pytest.mark.slow

PROBE = textwrap.dedent("""
    import json, sys
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    from app.components import loaders

    config.set_option("server.address", "127.0.0.1")
    real_prewarm, held = loaders.prewarm_model_code, []
    loaders.prewarm_model_code = lambda: held.append(1)     # hold the import back to look at the page first

    def images(at):
        found = []
        def walk(n):
            if getattr(n, "type", None) == "image":
                found.extend(i.caption for i in n.proto.imgs)
            for ch in (n.children.values() if hasattr(n, "children") else []):
                walk(ch)
        walk(at._tree)
        return found

    def state(at):
        return {"torch": "torch" in sys.modules, "infer": "eac_core.infer" in sys.modules,
                "heading": [s.value for s in at.subheader if s.value.startswith("Sample ")],
                "images": images(at), "markdown": [m.value for m in at.markdown],
                "captions": [c.value for c in at.caption], "exception": [str(e.value) for e in at.exception]}

    at = AppTest.from_file(sys.argv[1], default_timeout=120)
    at.run()
    before = dict(state(at), prewarm_calls=len(held))
    loaders.prewarm_model_code = real_prewarm
    real_prewarm()
    ready = loaders._MODEL_CODE.wait(300)
    at.run()                                  # what the page's poll does once the model code is ready
    print(json.dumps({"before": before, "ready": ready, "after": state(at)}))
""")


def test_first_face_is_drawn_before_torch_then_cams_fill_in(project):
    first = scores_of(project)["sample_id"].iloc[0]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", PROBE, MAIN], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    before, after = out["before"], out["after"]

    assert before["exception"] == [] and before["heading"] == [f"Sample {first}"]
    assert not before["torch"] and not before["infer"], "torch was imported before the first face was drawn"
    assert before["prewarm_calls"] >= 1                                  # the import was asked for
    assert "original (CAMs loading…)" in before["images"] and "mirrored" in before["images"]
    assert not any(c.startswith(("given: ", "predicted: ")) for c in before["images"])
    assert any(m.startswith("p(given) **") and "suspicion **" in m and "rank **1**" in m for m in before["markdown"])
    assert "CAM panels: loading the model code…" in before["captions"]

    assert out["ready"] and after["torch"] and after["exception"] == []
    assert after["heading"] == [f"Sample {first}"]
    assert sum(c.startswith("given: ") for c in after["images"]) == 2
    assert sum(c.startswith("predicted: ") for c in after["images"]) == 2
    assert "CAM panels: loading the model code…" not in after["captions"]


def test_reading_a_config_does_not_import_torch():
    """The Review page imports eac_core.config (through app.workflows): its arch names must not pull
    in torch; they stay equal to the models' own list."""
    code = ("import sys; import app.views.review, app.components.training, eac_core.config; "
            "print('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "False"
    from eac_core import config, models
    assert config.ARCHS == models.ARCHS
