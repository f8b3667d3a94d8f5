"""The README's first steps (issue 24 item 8): one first-run figure, the measured one with its date and
command; the CPU-only install before the one-liner that pulls the CUDA wheels, with their sizes; no
words that only make sense inside this project's history ("issue 11", "this project's machine")."""
from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_cpu_only_install_comes_before_the_one_liner_and_says_what_it_saves():
    cpu = README.index("--index-url https://download.pytorch.org/whl/cpu")
    one_liner = README.index("pip install -r requirements.txt")
    assert cpu < one_liner
    before = _flat(README[:cpu])
    assert "3.2 GB of `nvidia-*` packages and a 1.2 GB `torch` (4.4 GB together) plus a 0.9 GB `triton`" in before


def test_one_first_run_figure_with_its_date_and_command():
    flat = _flat(README)
    assert ("Measured on 2026-12-03 with `python bench/bench_first_run.py` (empty project, real Chromium, "
            "press \"Start the demo\"; two runs)") in flat
    assert "first suspect 28.6–38.3 s after the click, final ranking 82.7–90.1 s" in flat
    for other in ("47.1 s", "136.7 s", "57 s and 209 s", "about 90 s"):     # the contradictory ones
        assert other not in flat, other


def test_no_words_from_inside_the_project():
    flat = _flat(README).lower()
    for phrase in ("issue 11", "this project's machine", "this project's 2-core machine", "this project's avx2",
                   "on this machine"):
        assert phrase not in flat, phrase
