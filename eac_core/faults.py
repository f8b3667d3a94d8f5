"""Fault injection for the crash tests (tests/eac_core/test_kill_points.py): with EAC_TEST_KILL_AT set to
`<point>` or `<point>@<at>`, the trainer SIGKILLs itself when it reaches that point, so a test can kill
it exactly there instead of racing a timer. Unset (always, outside those tests) it does nothing.

Points: `step` (at = "<epoch>.<step>", after a training step), `history-written` (at = epoch: the
epoch's history, summary and provisional scores written, its checkpoint not yet), `checkpoint-written`
(the checkpoint's temp file complete, not yet renamed), `checkpoint-renamed` (the rename done),
`score-start` / `scored` / `scores-written` (the final clean-view scoring pass: before it, after it
with nothing written, after scores.parquet before the embedding)."""
from __future__ import annotations

import os
import signal

ENV = "EAC_TEST_KILL_AT"
POINTS = ("step", "history-written", "checkpoint-written", "checkpoint-renamed", "score-start", "scored",
          "scores-written")
_SPEC = os.environ.get(ENV, "")


def point(name: str, at: object = None) -> None:
    """SIGKILL this process when EAC_TEST_KILL_AT names this point (and `at`, when it gives one)."""
    if not _SPEC:
        return
    want, _, want_at = _SPEC.partition("@")
    if want == name and (not want_at or want_at == str(at)):
        os.kill(os.getpid(), signal.SIGKILL)
