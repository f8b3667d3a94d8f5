"""Training runs in the UI: live progress (a polling fragment over the run's progress and summary),
the stop button, the launch form and the list of past runs. Launching, liveness and stopping are
app.jobs / app.workflows; these are the widgets over them."""
from __future__ import annotations

import math

import streamlit as st

from app import jobs, workflows
from app.components import charts, loaders, ui
from app.components.project import PathRefused, check_path, dataset_dirs
from data_tools.rundir import RunDir

POLL_S = 2.0


def fmt_duration(sec) -> str:
    if sec is None or (isinstance(sec, float) and not math.isfinite(sec)):
        return "–"
    sec = int(max(float(sec), 0))
    m, s = divmod(sec, 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else (f"{m}m {s:02d}s" if m else f"{s}s")


def progress_view(run: RunDir, *, curves: bool = True, stop_button: bool = True, key: str = "") -> None:
    """Progress bar, epoch, images/s, ETA, loss/accuracy curves and a stop button for one run."""
    prog = loaders.load_progress(run)
    job = jobs.status(run)
    alive = jobs.is_active(run)
    if prog is None:
        if alive:
            st.progress(0.0, text="Preparing (generating the dataset / loading images)…")
        elif job is not None:
            st.error("The job ended before training started.")
            tail = jobs.log_tail(run)
            if tail:
                st.code(tail, language=None)
        else:
            st.info("This run has no progress file yet.")
        return
    state = str(prog.get("state", "unknown"))
    if state == "running" and not alive and job is not None:
        state = "interrupted"
    epoch, epochs = int(prog.get("epoch") or 0), int(prog.get("epochs") or 0)
    step, steps = int(prog.get("step") or 0), int(prog.get("steps") or 0)
    frac = ((max(epoch - 1, 0) + (step / steps if steps else 0)) / epochs) if epochs else 0.0
    if state == "done":
        frac = 1.0
    phase = prog.get("phase") or ""
    st.progress(min(max(frac, 0.0), 1.0),
                text=f"{state} · epoch {epoch}/{epochs} · step {step}/{steps}" + (f" · {phase}" if phase else ""))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Epoch", f"{epoch}/{epochs}")
    c2.metric("Images/s", f"{float(prog.get('images_per_sec') or 0):.0f}")
    c3.metric("ETA", fmt_duration(prog.get("eta_sec")) if state == "running" else "–")
    c4.metric("State", state)
    if state == "failed" and prog.get("error"):
        st.error(f"Training failed: {ui.md_escape(prog['error'])}")
    elif state == "interrupted":
        st.warning("The training process is gone without finishing (server restart or crash). "
                   "Resume it from the Train page.")
    if curves:
        summary = loaders.load_summary(run)
        if not summary.empty:
            st.plotly_chart(charts.curves(summary, mode=loaders.load_config(run).get("mode")), key=f"curves_{key}",
                            config={"displayModeBar": False})
    if stop_button and alive:
        if st.button("Stop training", key=f"stop_{key}", icon=":material/stop:"):
            jobs.stop(run)
            st.toast("Stop requested (SIGTERM); the trainer saves and exits.", icon=":material/stop_circle:")


def live_progress(run: RunDir, *, key: str, rerun_on_scores: bool = False, curves: bool = True) -> None:
    """progress_view that refreshes itself every few seconds while the run is active."""
    run = RunDir(run)
    active = jobs.is_active(run)
    had_scores = run.has("scores")

    @st.fragment(run_every=POLL_S if active else None)
    def _poll() -> None:
        with ui.guarded("The progress view"):
            progress_view(run, key=key, curves=curves)
        if rerun_on_scores and not had_scores and run.has("scores"):
            st.rerun()
        if active and not jobs.is_active(run):
            st.rerun()       # finished: draw the final state once, then stop polling

    _poll()


def waiting_for_scores(run: RunDir) -> None:
    """Shown on the Review page until the first epoch's scores exist."""
    loaders.prewarm_model_code()
    if jobs.is_active(run):
        st.info("Training is running. The first ranking of suspects appears here after the first epoch "
                "(a provisional one while training continues).", icon=":material/hourglass_top:")
    else:
        st.info(f"Run **{ui.md_escape(run.name)}** has no scores yet. Start or resume training on the Train page.")
        st.page_link(ui.PAGES["train"], label="Go to Train")
    live_progress(run, key="review_wait", rerun_on_scores=True)


def provisional_banner(run: RunDir, scores_mtime: float, status: dict | None = None) -> None:
    """The ranking is from an unfinished run: say which epoch it is from and where the training is, from
    `status` (loaders.ranking_status: the one read of progress.json that the queue caption also draws).
    While training runs it polls, and a newer ranking reruns the page by itself (issue 24 §3): no button
    to press, and the face on screen stays (navigation.resolve_current)."""
    run = RunDir(run)
    active = jobs.is_active(run)
    status = status if status is not None else loaders.ranking_status(run)

    @st.fragment(run_every=POLL_S if active else None)
    def _banner() -> None:
        e, n, te = status.get("ranking_epoch"), status.get("epochs"), status.get("training_epoch")
        state, phase = status.get("state") or "stopped", status.get("phase")
        where = f"training {ui.md_escape(state)}" + (f" at epoch {te} of {n}" if te is not None and n else "") + \
            (f", {ui.md_escape(phase)}" if phase and phase != state else "")
        text = (f"**Provisional ranking**: {loaders.ranking_text(status)} ({where}). Newer rankings arrive by "
                "themselves and never move the face on screen; decisions are kept when the final ranking "
                "replaces this one.")
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.warning(text, icon=":material/hourglass_top:")
        if isinstance(e, int) and isinstance(n, int) and n > 0:
            c2.progress(min(max(e / n, 0.0), 1.0), text=f"ranking: epoch {e}/{n}")
        if run.mtime("scores") != scores_mtime or (active and not jobs.is_active(run)):
            st.rerun()       # a newer ranking (or the end of training): the whole page, the face stays

    _banner()


# -- launching ----------------------------------------------------------------------------------
START_FROM = {"scratch": "nothing (from scratch)", "run": "a finished run", "file": "a weights file",
              "imagenet": "ImageNet weights (torch hub cache)"}


def start_weights(start: str, run_name: str | None, file: str, runs: list[RunDir]) -> str:
    """The `--pretrained` value of the form's "Start from" choice ('' from scratch); ValueError (or
    PathRefused for a file outside the allowed roots) when the choice lacks what it needs."""
    if start == "run":
        match = [r for r in runs if r.name == run_name]
        if not match:
            raise ValueError("Start from a finished run: choose one (a run that finished training).")
        return str(match[0].path)
    if start == "file":
        if not file.strip():
            raise ValueError("Start from a weights file: give its path.")
        return str(check_path(file))
    return "imagenet" if start == "imagenet" else ""


def launch_form() -> RunDir | None:
    """The Train page's configuration form; returns the new run folder when one was started."""
    dsets = dataset_dirs()
    if not dsets:
        st.info("No dataset yet: import one on the Data page, or start the demo on the Review page.")
        return None
    from eac_core.models import ARCHS
    with st.form("train_form"):
        c1, c2, c3 = st.columns(3)
        ds_name = c1.selectbox("Dataset", [d.name for d in dsets], key="train_dataset")
        mode = c2.radio("Method", ["(preset)", "eac", "ce"], horizontal=True, key="train_mode",
                        format_func=lambda m: {"(preset)": "the preset's", "eac": "EAC (erasing attention consistency)",
                                               "ce": "CE baseline"}[m])
        preset = c3.selectbox("Preset", ["auto", "cpu", "demo", "paper", "finetune"], key="train_preset",
                              help="auto: demo for the demo dataset, finetune when starting from weights, cpu "
                                   "without a GPU, paper with one. cpu: 5-conv net at 48 px for real faces on a "
                                   "CPU; demo: compact net, trains the demo in ~90 s on 2 cores; paper: ResNet-50, "
                                   "224 px, 60 epochs; finetune: the recipe measured for pretrained weights.")
        c4, c5, c6 = st.columns(3)
        arch = c4.selectbox("Backbone", ["(preset)", *ARCHS], key="train_arch")
        epochs = c5.number_input("Epochs", min_value=1, max_value=500, value=None, placeholder="(preset)",
                                 key="train_epochs")
        size = c6.number_input("Image size", min_value=16, max_value=512, value=None, placeholder="(preset)",
                               key="train_size")
        starts = workflows.pretrained_runs()
        s1, s2, s3 = st.columns(3)
        start = s1.radio("Start from", list(START_FROM), key="train_start", format_func=START_FROM.get,
                         help="Pretrain once on a large dataset, then fine-tune on many small ones: a finished "
                              "run's weights carry its network and image size over.")
        start_run = s2.selectbox("Finished run", [r.name for r in starts], index=None, key="train_start_run",
                                 placeholder="(no finished run)" if not starts else "choose a run")
        pretrained = s3.text_input("Weights file", key="train_pretrained",
                                   help="A torchvision state dict, resnet50_ft_weight.pkl or a checkpoint.pt under "
                                        "an allowed root.")
        c7, c9 = st.columns(2)
        device = c7.selectbox("Device", ["auto", "cpu", "cuda"], key="train_device")
        name = c9.text_input("Run name (optional)", key="train_name", placeholder="auto")
        budget = st.number_input("Time budget in minutes (optional: chooses the epochs from the measured speed; "
                                 "leave Epochs empty)", min_value=0.5, max_value=10000.0, value=None,
                                 placeholder="(epochs)", key="train_budget")
        go = st.form_submit_button("Start training", type="primary")
    if not go:
        return None
    ds_dir = next(d for d in dsets if d.name == ds_name)
    try:
        pre = start_weights(start, start_run, pretrained, starts)
    except (PathRefused, ValueError) as e:
        st.error(ui.md_escape(e))
        return None
    clean_name = name.strip() or None
    if clean_name and not workflows.plain_name(clean_name):
        st.error("A run name is a plain folder name (no '/', no leading '.').")
        return None
    if epochs and budget:
        st.error("Give the epochs or a time budget, not both.")
        return None
    opts = dict(mode=None if mode == "(preset)" else mode, preset=preset, arch=None if arch == "(preset)" else arch,
                epochs=int(epochs) if epochs else None, budget_minutes=float(budget) if budget else None,
                image_size=int(size) if size else None, device=device, pretrained=pre or None)
    try:
        run = workflows.launch_training(ds_dir, name=clean_name, **opts)
    except (ValueError, RuntimeError, OSError) as e:
        st.error(ui.md_escape(e))
        return None
    return run

