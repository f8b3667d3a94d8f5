"""Generator of an AffectNet-sized project for the scale figures (issue 9, Scale): a dataset folder whose
manifest lists N training faces (AffectNet: about 300,000) plus a test split, and a run folder with a
synthetic scores.parquet following the contract, the per-sample history of E epochs written through
RunDir.write_history (the trainer's own writer, so its format and size are the real ones), and the
checkpoint and config of a real demo run (so the Review page computes its four CAM panels as usual).

    python bench/make_scale_project.py [--n 300000] [--epochs 60] [--home .cache/bench-scale] [--source-run RUN]

The manifest rows share 64 small demo images (the figures measured with it are about tables, not about
decoding). Reused while --n, --epochs and --seed match (built.json). Prints what it wrote and the size of
history/ on disk. bench_review_scale.py and bench_queue_scale.py call build() from here."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from data_tools.rundir import RunDir  # noqa: E402

RUN = "synthetic-300k"
N_IMAGES = 64
HOME = REPO / ".cache" / "bench-scale"


def source_run(arg: str | None) -> Path:
    """A real run whose checkpoint, config and first images the synthetic project borrows."""
    if arg:
        return Path(arg).resolve()
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO / "tests"))          # tests/support: the browser helpers
    from bench_review_latency import find_demo_run
    for home in (REPO, REPO / ".cache" / "bench-demo", REPO / ".cache" / "bench-scale-src"):
        run = find_demo_run(home)
        if run:
            return home / "runs" / run
    from support import browser as bs
    home = REPO / ".cache" / "bench-scale-src"
    print(f"making a tiny demo run in {home} for its checkpoint …", flush=True)
    return bs.make_project(home, n_train=140, n_test=35, size=48, epochs=1, run_name="demo")


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def build(home: Path, n: int, src_run: Path, *, epochs: int = 60, seed: int = 0, n_test: int = 3500) -> dict:
    """The synthetic dataset and run under home (skipped when built.json says it exists for these
    settings). Returns built.json's content."""
    import pandas as pd
    from data_tools.manifest import DatasetInfo, load_dataset, write_dataset
    stamp = home / "built.json"
    want = {"n": n, "epochs": epochs, "seed": seed, "n_test": n_test}
    if stamp.is_file():
        have = json.loads(stamp.read_text())
        if {k: have.get(k) for k in want} == want:
            return have
    shutil.rmtree(home, ignore_errors=True)
    t0 = time.monotonic()
    src = RunDir(src_run)
    cfg = src.read_config()
    src_ds = load_dataset(cfg["dataset"])
    classes = list(src_ds.classes)
    ds_dir, run_dir = home / "datasets" / "synthetic", RunDir(home / "runs" / RUN)
    (ds_dir / "images").mkdir(parents=True)
    for j, rel in enumerate(src_ds.manifest["path"].head(N_IMAGES)):
        shutil.copy(src_ds.image_path(rel), ds_dir / "images" / f"f{j:02d}{Path(rel).suffix}")
    suffix = Path(src_ds.manifest["path"].iloc[0]).suffix
    n_img = min(N_IMAGES, len(src_ds.manifest))

    rng = np.random.default_rng(seed)
    k = len(classes)
    total = n + n_test
    sid = np.char.add("s", np.char.zfill(np.arange(total).astype(str), 6))
    true = rng.integers(0, k, total)
    flip = rng.random(total) < 0.2
    label = np.where(flip, (true + rng.integers(1, k, total)) % k, true)
    cls = np.array(classes)
    split = np.where(np.arange(total) < n, "train", "test")
    paths = np.char.add(np.char.add("images/f", np.char.zfill((np.arange(total) % n_img).astype(str), 2)), suffix)
    manifest = pd.DataFrame({"sample_id": sid, "path": paths, "label": cls[label], "split": split,
                             "true_label": cls[true]})
    write_dataset(ds_dir, manifest, DatasetInfo(classes=classes, image_root=".", format="synthetic",
                                                name="synthetic", source="bench/make_scale_project.py"))

    # scores: one row per training face
    sid, true, label = sid[:n], true[:n], label[:n]
    logits = rng.normal(0, 1, (n, k)) + 2.5 * np.eye(k)[true]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    pred = probs.argmax(1)
    p_label = probs[np.arange(n), label]
    p_pred = probs[np.arange(n), pred]
    other = np.where(np.eye(k, dtype=bool)[label], -1.0, probs).max(1)
    fc = rng.gamma(2.0, 0.01, n)
    aum = rng.normal(0.0, 1.5, n) - 2.0 * (label != true)
    knn = np.clip(rng.beta(5, 2, n) - 0.4 * (label != true), 0, 1)
    loss = -np.log(np.clip(p_label, 1e-12, None))
    from eac_core.scores import CANDIDATES, rank_of
    t = pd.DataFrame({"aum": aum, "loss": loss, "knn_p_label": knn})
    suspicion = CANDIDATES["fused_aum_loss_knn"](t)
    scores = pd.DataFrame({
        "sample_id": sid, "label": cls[label], "pred": cls[pred], "p_label": p_label, "p_pred": p_pred,
        "margin": p_label - other, "loss": loss, "flip_consistency": fc,
        "flip_agree": rng.random(n) < 0.9, "aum": aum, "knn_p_label": knn, "suspicion": suspicion,
        "rank": rank_of(suspicion), **{f"prob_{c}": probs[:, j] for j, c in enumerate(classes)},
        "split": "train", "true_label": cls[true], "provisional": np.zeros(n, dtype=bool)})
    run_dir.path.mkdir(parents=True)
    run_dir.write_scores(scores)

    # history: the trainer's writer, E epochs of plausible signals (margins drift as the model learns)
    run_dir.write_sample_ids(list(sid))
    for e in range(1, epochs + 1):
        m = aum + rng.normal(0, 0.5, n) + 0.05 * (e - epochs / 2)
        run_dir.write_history("epoch", e, {
            "loss": np.log1p(np.exp(-m)), "p_label": 1 / (1 + np.exp(-m)), "margin": m,
            "pred": np.where(rng.random(n) < 0.7, label, pred), "flip_consistency": rng.gamma(2.0, 0.01, n),
            "erased": rng.random(n) < 0.5, "flip_agree": rng.random(n) < 0.9})
    if epochs:
        run_dir.write_history("clean", epochs, {"loss": loss, "p_label": p_label, "margin": p_label - other,
                                                "pred": pred, "flip_consistency": fc,
                                                "flip_agree": rng.random(n) < 0.9})

    shutil.copy(src.checkpoint_path, run_dir.checkpoint_path)
    if src.summary_path.is_file():
        shutil.copy(src.summary_path, run_dir.summary_path)
    cfg.update(dataset=str(ds_dir), out=str(run_dir.path), epochs=max(epochs, 1))
    run_dir.write_config(cfg)
    info = dict(want, source_run=str(src_run), seconds=round(time.monotonic() - t0, 1),
                history_bytes=dir_bytes(run_dir.history_dir) if epochs else 0,
                scores_bytes=run_dir.scores_path.stat().st_size,
                manifest_bytes=(ds_dir / "manifest.csv").stat().st_size)
    stamp.write_text(json.dumps(info))
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300_000, help="training faces (AffectNet: about 300,000)")
    ap.add_argument("--epochs", type=int, default=60, help="epochs of per-sample history (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--home", default=str(HOME))
    ap.add_argument("--source-run", help="a real run folder whose checkpoint/config/images to borrow")
    args = ap.parse_args()
    home = Path(args.home).resolve()
    info = build(home, args.n, source_run(args.source_run), epochs=args.epochs, seed=args.seed)
    print(f"project: {home} (built in {info['seconds']} s)")
    print(f"| file | MB |\n|---|---:|\n| manifest.csv | {info['manifest_bytes'] / 1e6:.1f} |\n"
          f"| scores.parquet | {info['scores_bytes'] / 1e6:.1f} |\n"
          f"| history/ ({args.n:,} samples × {args.epochs} epochs) | {info['history_bytes'] / 1e6:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
