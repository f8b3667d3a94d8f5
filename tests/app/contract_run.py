"""A small dataset folder + run directory that follow the ARCHITECTURE.md contract, built without
training (seeded random scores and an untrained compact model), for app tests that must not wait."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def make_dataset(home: Path, name: str = "demo", n_train: int = 60, n_test: int = 14) -> Path:
    """datasets/<name> via the demo generator (tiny)."""
    from data_tools.demo import generate_demo
    out = home / "datasets" / name
    generate_demo(out, n_train=n_train, n_test=n_test, image_size=48, seed=0, workers=1)
    return out


def make_run(home: Path, dataset_dir: Path, name: str = "demo-eac-20260101-000000", *,
             epochs: int = 2, provisional: bool = False, state: str = "done") -> Path:
    """runs/<name> with config.json, progress.json, summary.csv, scores.parquet, embedding.parquet,
    history/ and checkpoint.pt (untrained compact model)."""
    import torch
    from data_tools.manifest import load_dataset
    from eac_core import rundir
    from eac_core.models import build_model
    from eac_core.preprocess import Preprocessing

    ds = load_dataset(dataset_dir)
    classes = ds.classes
    k = len(classes)
    run = home / "runs" / name
    run.mkdir(parents=True, exist_ok=True)
    train = ds.manifest[ds.manifest["split"] == "train"].reset_index(drop=True)
    n = len(train)
    rng = np.random.default_rng(0)
    labels = train["label"].to_numpy()
    true = train["true_label"].to_numpy() if "true_label" in train.columns else labels
    idx = {c: i for i, c in enumerate(classes)}
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), [idx[t] for t in true]] += 2.5            # the model mostly knows the truth
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    pred_i = probs.argmax(1)
    p_label = probs[np.arange(n), [idx[l] for l in labels]]
    suspicion = 1.0 - p_label
    scores = pd.DataFrame({
        "sample_id": train["sample_id"].astype(str), "label": labels,
        "pred": [classes[i] for i in pred_i], "p_label": p_label, "p_pred": probs.max(1),
        "margin": p_label - probs.max(1), "loss": -np.log(p_label),
        "flip_consistency": rng.uniform(0, 1, n), "flip_agree": rng.uniform(0.5, 1, n) > 0.6,
        "suspicion": suspicion,
    })
    scores["rank"] = scores["suspicion"].rank(ascending=False, method="first").astype(int)
    for i, c in enumerate(classes):
        scores[f"prob_{c}"] = probs[:, i]
    scores["split"] = "train"
    scores["true_label"] = true
    scores["provisional"] = provisional
    scores.to_parquet(run / "scores.parquet", index=False)
    pd.DataFrame({"sample_id": scores["sample_id"], "x": rng.normal(size=n), "y": rng.normal(size=n)}
                 ).to_parquet(run / "embedding.parquet", index=False)
    rundir.write_summary(run, [{"epoch": e, "loss": 2.0 / e, "ce_loss": 1.8 / e, "att_loss": 0.2 / e,
                                "train_acc": 0.3 + 0.1 * e, "train_acc_true": 0.3 + 0.1 * e,
                                "test_acc": 0.25 + 0.1 * e, "lr": 1e-3,
                                "seconds": 5.0, "images_per_sec": 100.0} for e in range(1, epochs + 1)])
    rundir.write_sample_ids(run, list(scores["sample_id"]))
    for e in range(1, epochs + 1):
        rundir.write_history(run, "epoch", e, {"loss": -np.log(p_label), "p_label": p_label * e / epochs,
                                               "margin": scores["margin"].to_numpy(), "pred": pred_i.astype(float),
                                               "flip_consistency": scores["flip_consistency"].to_numpy()})
    cfg = {"dataset": str(dataset_dir), "out": str(run), "mode": "eac", "arch": "compact", "epochs": epochs,
           "image_size": 48, "preset": "cpu", "seed": 0}
    (run / "config.json").write_text(json.dumps(cfg))
    rundir.write_progress(run, {"state": state, "phase": "done" if state == "done" else "train",
                                "epoch": epochs, "epochs": epochs, "step": 2, "steps": 2,
                                "images_per_sec": 100.0, "eta_sec": 0, "error": None, "pid": None})
    torch.manual_seed(0)
    model = build_model("compact", k)
    torch.save({"model": model.state_dict(), "arch": "compact", "classes": classes, "num_classes": k,
                "image_size": 48, "preprocessing": Preprocessing().to_dict(), "epoch": epochs,
                "config": cfg}, run / "checkpoint.pt")
    return run
