"""The server's warm start (issue 24: a 300,000-face project's first suspect within 2 s of a fresh
server): `python -m app` starts this in a thread beside the Streamlit server, so the imports and the
reads the Review page needs first happen while the server starts, not when the first browser connects.

`warm()` makes the same cached calls, with the same arguments, that the Review page makes for the
default run, queue and first face (app.components.loaders' caches are per server process, shared by
every session): the page modules imported, the scores read (and indexed by sample id), the slim queue
columns and their fast form, the dataset's manifest and path index, the issue bits, the first queue
rows' thumbnails, the first face's history; then the model code imported and the first faces' CAM panels
computed (cams.prefetch). Anything that fails here is left for the page to report: the page never
depends on the warm start, it only finds its caches filled."""
from __future__ import annotations

import sys
import time


def when_ready(timeout_s: float = 120.0) -> None:
    """Wait for the Streamlit runtime (its cache storage is the one the pages use), then warm()."""
    try:
        from streamlit.runtime import Runtime
        t0 = time.monotonic()
        while not Runtime.exists():
            if time.monotonic() - t0 > timeout_s:
                return
            time.sleep(0.02)
        t = time.perf_counter()
        what = warm()
        print(f"[fer-audit] warm start: {what} in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    except Exception as e:  # noqa: BLE001 - the pages read everything themselves when they need it
        print(f"[fer-audit] warm start stopped: {e}", file=sys.stderr, flush=True)


def warm() -> str:
    """Fill the caches the Review page reads first for the default run; returns what was warmed."""
    import app.views.review  # noqa: F401  (the page's imports: pandas, pyarrow, plotly, the components)
    from app.components import cams, loaders, review_queue, ui
    from app.components.queue import filter_queue
    run = ui._default_run(ui.run_dirs())
    if run is None or not run.has("scores"):
        return "no run to review"
    loaders.prewarm_model_code()                 # torch imports in its own thread meanwhile
    scores = loaders.load_scores(run)
    if scores is None or scores.empty:
        return f"run {run.name}: no scores"
    ds_dir = loaders.run_dataset_dir(run)
    loaders.run_classes(run)
    loaders.ranking_status(run)
    loaders.issue_bits(run, ds_dir, scores)
    f = review_queue.default_filter(scores)
    queue = filter_queue(review_queue.slim(run, scores, f), set(), f)
    by_id = loaders.load_scores_by_id(run)
    ids = queue["sample_id"].astype(str).tolist()[:review_queue.QUEUE_ROWS]
    dataset = loaders.load_dataset(ds_dir) if ds_dir is not None else None
    if dataset is not None:
        loaders.path_index(dataset)
        loaders.label_split(dataset)
        loaders.thumbs(dataset, tuple(ids))
    if ids:
        loaders.sample_history(run, ids[0])
    if dataset is None or not run.has_checkpoint():
        return f"run {run.name}: {len(scores):,} faces"
    t0 = time.monotonic()
    while not loaders.model_code_ready() and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    paths = loaders.image_paths(dataset, ids[:2])
    cams.prefetch(run, [(p, str(by_id.at[s, "label"]), str(by_id.at[s, "pred"])) for s, p in zip(ids, paths)
                        if p is not None])
    return f"run {run.name}: {len(scores):,} faces, first CAMs queued"
