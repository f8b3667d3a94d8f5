"""Issue types beyond wrong labels (issue 23), measured on real faces:

1. fer2013_dev duplicates: every image hashed by the product (data_tools.issues); the exact-duplicate
   groups checked against an independent truth (OpenCV's decoder + SHA-256, every group's members then
   compared pixel by pixel): recall, false groups, cross-split and label-conflict groups.
2. ambiguity against the FER+ vote spread of truth.csv (Spearman), beside 1 - p(label) and candidates
   from the run's training dynamics, test-time views, temperature and kNN labels; the product's
   label-vote prior chosen on one half of the rows and reported on the other (bootstrap CIs).
3. planted blank, dark, text and non-face images mixed into CK+48 and JAFFE (written under --work),
   5 and 20 of each kind (the images of one kind look alike: a cluster), three seeds, mean ± sd:
   AUROC of the product's outlier score on the learned embedding (the fer_cnn_ce8 model's pooled features,
   mirror-averaged; inference only), of the kNN mean distance alone at the product's k and at k = 10,
   of cleanlab Datalab's outlier
   score on the same features (its default k, and the product's), of the image-quality checks, and of
   both together; CleanVision on the same images (first seed) when it is installed.
4. CK+'s bursts (3 frames per sequence): how many sequences the near-duplicate groups hold, with the
   perceptual hash alone (before) and with the keypoint-aligned hashes (the product).
5. fer2013_dev's near-duplicate groups, before and after, against an oracle (the best aligned
   correlation at any shift and a zoom of 0.8-1.25): groups the oracle splits.
6. shifted, cropped, resized and JPEG-70 copies of N faces planted among CK+48's and JAFFE's faces:
   copies grouped with their source per kind, and groups joining two subjects, before and after.
7. what the keypoint hashes cost: CPU per image of the import's measurement (ratio, one process) and
   the find's duplicate step on 2,000,000 random rows.
8. real outliers: the outlier scores of all fer2013_dev faces (the run's features, as in 3) against the
   truth.csv faces FER+'s annotators called "unknown" or "not a face" (AUROC, Spearman, bootstrap
   interval of the product minus Datalab's default).

Section 2's run is read, never written: --run DIR or $FER_RUN (e.g. the lead's
/work/main/.cache/bench/pretrained/fer_cnn_ce8); its manifest is the dataset its config.json names.
Dependencies: the dev extra (cleanlab[datalab], cleanvision); without them those anchors are skipped
with a printed line.

    python bench/bench_issue_types.py [--work .cache/bench-issue-types] [--run DIR] [--jobs 1]
                                      [--per-kind 5,20] [--seeds 0,1,2] [--copies 40] [--find-rows 2000000]
                                      [--sections 1,2,3,4,5,6,7,8]
                                      [--out bench/results/issue_types.md]
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_tools.images import load_image  # noqa: E402
from data_tools.issues import Thresholds, find_issues, measure_all  # noqa: E402
from data_tools.issues.dataset import issue_table  # noqa: E402
from eac_core.issue_scores import OUTLIER_ISOLATED_Q, OUTLIER_K, OUTLIER_LOCAL_K  # noqa: E402
from eac_core.issue_scores import ambiguity_score, outlier_score  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FER = SHARED / "fer2013_dev"
VOTES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]
PLANTED_KINDS = ("blank", "dark", "text", "nonface")


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def auroc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score
    if np.isnan(np.asarray(s, float)).all():          # an anchor that was skipped
        return float("nan")
    s = np.nan_to_num(np.asarray(s, float), nan=-np.inf)
    return float(roc_auc_score(y, s))


# ---------------------------------------------------------------- 1. fer2013_dev duplicates
def fer_duplicates(jobs: int) -> tuple[pd.DataFrame, dict, pd.DataFrame, np.ndarray]:
    labels = pd.read_csv(FER / "labels.csv", dtype=str)
    paths = [str(FER / p) for p in labels["path"]]
    t0 = time.monotonic()
    sig = measure_all(paths, jobs=jobs)
    t_hash = time.monotonic() - t0
    t0 = time.monotonic()
    table = issue_table(labels["path"].to_numpy(), sig, labels["label"].to_numpy(), labels["split"].to_numpy())
    t_find = time.monotonic() - t0
    # independent truth: OpenCV's PNG decoder (not Pillow), SHA-256 of the pixels, then pixel equality
    t0 = time.monotonic()
    by = defaultdict(list)
    for k, p in enumerate(paths):
        a = cv2.imread(p, cv2.IMREAD_UNCHANGED)
        by[hashlib.sha256(a.tobytes() + str(a.shape).encode()).hexdigest()].append(k)
    truth = [sorted(v) for v in by.values() if len(v) > 1]
    for g in truth:
        first = cv2.imread(paths[g[0]], cv2.IMREAD_UNCHANGED)
        assert all(np.array_equal(first, cv2.imread(paths[k], cv2.IMREAD_UNCHANGED)) for k in g[1:])
    t_truth = time.monotonic() - t0
    pos = {p: k for k, p in enumerate(labels["path"])}
    ex = table[table["issue"] == "exact_duplicate"]
    found = sorted(sorted(pos[p] for p in g) for _, g in ex.groupby("group")["sample_id"])
    truth_set, found_set = {tuple(g) for g in truth}, {tuple(g) for g in found}
    folder = labels["path"].str.split("/").str[1].to_numpy()
    split = labels["split"].to_numpy()
    lab = labels["label"].to_numpy()
    cross_folder = sum(len(set(folder[list(g)])) > 1 for g in truth)
    cross_split = sum(len(set(split[list(g)])) > 1 for g in truth)
    conflict = sum(len(set(lab[list(g)])) > 1 for g in truth)
    # the product's flags on those groups
    leak_rows = set(table.loc[table["issue"] == "split_leak", "sample_id"])
    conf_rows = set(table.loc[table["issue"] == "label_conflict", "sample_id"])
    path_arr = labels["path"].to_numpy()
    leak_flagged = sum(len(set(split[list(g)])) > 1 and set(path_arr[list(g)]) <= leak_rows for g in truth)
    conf_flagged = sum(len(set(lab[list(g)])) > 1 and set(path_arr[list(g)]) <= conf_rows for g in truth)
    near = table[table["issue"] == "near_duplicate"]
    stats = {
        "images": len(paths), "hash s": round(t_hash, 1), "find s": round(t_find, 2), "truth s": round(t_truth, 1),
        "truth groups": len(truth), "truth rows": sum(map(len, truth)),
        "found groups": len(found), "found rows": int(ex["sample_id"].nunique()),
        "recall (groups)": len(truth_set & found_set) / max(len(truth_set), 1),
        "false groups": len(found_set - truth_set),
        "groups spanning Training/PublicTest": cross_folder,
        "groups spanning manifest splits (train/test)": cross_split,
        "  of which flagged split_leak": leak_flagged,
        "label-conflict groups": conflict, "  of which flagged label_conflict": conf_flagged,
        "near-duplicate groups": int(near["group"].nunique()), "near-duplicate rows": len(near),
    }
    for issue in ("blank", "dark", "bright", "low_information", "blurry"):
        stats[f"{issue} rows"] = int((table["issue"] == issue).sum())
    return table, stats, labels, sig


# ---------------------------------------------------------------- 2. ambiguity vs FER+ votes
PRIORS = (1, 2, 3, 5, 10, 20, 50)      # the label-vote family: the model's probabilities worth a votes


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata
    return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


def _diff_ci(x: np.ndarray, base: np.ndarray, y: np.ndarray, rows: np.ndarray, boots: int, seed: int,
             metric=_spearman) -> tuple:
    """95 % bootstrap interval (resampling `rows`) of metric(x, y) - metric(base, y) (Spearman(score,
    target) by default; section 8 passes AUROC with its arguments swapped to fit)."""
    rng = np.random.default_rng(seed)
    d = []
    for _ in range(boots):
        b = rows[rng.integers(0, len(rows), len(rows))]
        d.append(metric(x[b], y[b]) - metric(base[b], y[b]))
    return float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def _top2_gap(p: np.ndarray) -> np.ndarray:
    top = -np.sort(-p, 1)[:, :2]
    return 1.0 - (top[:, 0] - top[:, 1])


def _inference_views(run: Path, rows: np.ndarray) -> dict | None:
    """From the run's checkpoint and its decoded-image cache (inference only): the logits of the `rows`
    faces under 10 views (5 shifts by 3 px, reflected border, each with its mirror), the mirror-averaged
    logits of the test split, and the pooled mirror-averaged features of every training face.
    None when the run has no cache."""
    import json
    import torch
    from eac_core.infer import Explainer
    from eac_core.preprocess import to_tensor
    size = json.loads((run / "config.json").read_text())["image_size"]
    tr_npy, te_npy = run / "cache" / f"train_{size}.npy", run / "cache" / f"test_{size}.npy"
    if not tr_npy.is_file():
        return None
    ex = Explainer.load(run)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    shifts = [(0, 0), (3, 0), (-3, 0), (0, 3), (0, -3)]

    def forward(arr: np.ndarray, idx: np.ndarray, views: list) -> tuple[np.ndarray, np.ndarray]:
        logits, feats = [], []
        with torch.no_grad():
            for b in range(0, len(idx), 256):
                x = to_tensor(np.asarray(arr[idx[b:b + 256]]), ex.preprocessing)
                pad = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
                h, w = x.shape[2:]
                vs = []
                for dx, dy in views:
                    xs = pad[:, :, 4 + dy:4 + dy + h, 4 + dx:4 + dx + w]
                    vs += [xs, xs.flip(3)]
                lo, f = ex.model(torch.cat(vs))
                n = len(x)
                logits.append(lo.view(len(vs), n, -1).permute(1, 0, 2).numpy())
                feats.append(((f[:n].mean((2, 3)) + f[n:2 * n].mean((2, 3))) / 2).numpy())
        return np.concatenate(logits).astype(np.float64), np.concatenate(feats)

    tr = np.load(tr_npy, mmap_mode="r")
    views, _ = forward(tr, rows, shifts)
    _, feats = forward(tr, np.arange(len(tr)), [(0, 0)])
    test = None
    if te_npy.is_file():
        te = np.load(te_npy, mmap_mode="r")
        lt, _ = forward(te, np.arange(len(te)), [(0, 0)])
        test = (lt[:, 0] + lt[:, 1]) / 2
    return {"views": views, "features": feats, "test_logits": test}


def ambiguity_vs_votes(run: Path, *, boots: int = 1000, splits: int = 200) -> tuple[pd.DataFrame, list[str]]:
    """Section 2: every candidate's Spearman with the FER+ vote spread on truth.csv's rows, the bootstrap
    interval of its difference with 1 - p(label)'s, and the choice of the label-vote prior on one half of
    the rows reported on the other. Returns (table, lines of text)."""
    import json
    from scipy.special import softmax, log_softmax
    from data_tools.rundir import RunDir
    from eac_core.issue_scores import LABEL_PRIOR
    cfg = json.loads((run / "config.json").read_text())
    classes = list(cfg["classes"])
    scores = pd.read_parquet(run / "scores.parquet")
    man = pd.read_csv(Path(cfg["dataset"]) / "manifest.csv", dtype=str)
    truth = pd.read_csv(FER / "truth.csv")
    s = scores.reset_index(names="row").merge(man[["sample_id", "path"]], on="sample_id").merge(truth, on="path")
    votes = s[VOTES].to_numpy(float)
    s = s[votes.sum(1) > 0].reset_index(drop=True)
    rows = s["row"].to_numpy()
    probs = s[[f"prob_{c}" for c in classes]].to_numpy(float)
    lab = s["label_index"].to_numpy(int)
    votes = s[VOTES].to_numpy(float)
    v = votes / votes.sum(1, keepdims=True)
    spread = 1.0 - v.max(1)                                   # share of annotators off the majority
    vent = -(np.where(v > 0, v * np.log(np.where(v > 0, v, 1)), 0)).sum(1)
    vmargin = _top2_gap(v)
    n = len(s)
    base = 1.0 - s["p_label"].to_numpy(float)
    cand = {f"ambiguity (product): 1-(q1-q2), q = ({LABEL_PRIOR:g} p + given label) / {LABEL_PRIOR + 1:g}":
            ambiguity_score(probs, lab),
            "1-(p1-p2) of p (the product before)": ambiguity_score(probs),
            "entropy of p": -(probs * np.log(np.clip(probs, 1e-12, 1))).sum(1),
            "1 - p(label)": base}
    rd = RunDir(run)
    hist = {c: rd.history_matrix(c)[1][:, rows].astype(float) for c in ("p_label", "pred")}
    if len(hist["p_label"]):
        cand["dynamics: 1 - mean p(label) over epochs"] = 1.0 - hist["p_label"].mean(0)
        cand["dynamics: std of p(label) over epochs (data-map variability)"] = hist["p_label"].std(0)
        pred = hist["pred"].astype(int)
        share = np.stack([(pred == k).mean(0) for k in range(len(classes))], 1)
        cand["dynamics: entropy of the predicted class over epochs"] = \
            -(np.where(share > 0, share * np.log(np.where(share > 0, share, 1)), 0)).sum(1)
    log("ambiguity: inference for the view and kNN candidates")
    inf = _inference_views(run, rows)
    notes = []
    if inf is None:
        notes.append("(the run has no decoded-image cache: the view, temperature and kNN candidates were skipped)")
    else:
        lg = inf["views"]
        check = np.abs(softmax((lg[:, 0] + lg[:, 1]) / 2, 1) - probs).max()
        notes.append(f"Check: the checkpoint's mirror-averaged probabilities equal scores.parquet's within {check:.1e}.")
        cand["1-(p1-p2), original view only (no mirror)"] = _top2_gap(softmax(lg[:, 0], 1))
        cand["1-(p1-p2), 10 views (5 shifts x mirror) averaged"] = _top2_gap(softmax(lg.mean(1), 1))
        if inf["test_logits"] is not None:
            te = man[man["split"] == "test"]
            y_te = np.array([classes.index(c) if c in classes else -1 for c in te["label"]])
            lt = inf["test_logits"][y_te >= 0]
            y_te = y_te[y_te >= 0]
            grid = np.round(np.arange(0.3, 4.01, 0.05), 2)
            nll = [-log_softmax(lt / t, 1)[np.arange(len(lt)), y_te].mean() for t in grid]
            temp = float(grid[int(np.argmin(nll))])
            cand[f"1-(p1-p2) at temperature {temp:g} (NLL on the test split)"] = \
                _top2_gap(softmax((lg[:, 0] + lg[:, 1]) / 2 / temp, 1))
        from sklearn.neighbors import NearestNeighbors
        f = inf["features"] / np.maximum(np.linalg.norm(inf["features"], axis=1, keepdims=True), 1e-12)
        labels_all = scores["label_index"].to_numpy(int)
        _, nb = NearestNeighbors(n_neighbors=51).fit(f).kneighbors(f[rows])
        knn = np.stack([(labels_all[nb[:, 1:]] == k).mean(1) for k in range(len(classes))], 1)
        cand["kNN (k=50) given labels: 1 - max share"] = 1.0 - knn.max(1)
        cand["1-(p1-p2) of (p + kNN label shares) / 2"] = _top2_gap((probs + knn) / 2)
    all_rows = np.arange(n)
    table = []
    for name, x in cand.items():
        lo, hi = _diff_ci(x, base, spread, all_rows, boots, 0)
        table.append({"score": name, "rows": n, "Spearman vs 1-max vote share": _spearman(x, spread),
                      "minus 1-p(label)'s, 95 % bootstrap CI": "" if x is base else f"{lo:+.3f} .. {hi:+.3f}",
                      "vs vote entropy": _spearman(x, vent), "vs 1-(v1-v2) of votes": _spearman(x, vmargin)})
    # the prior of the label vote, chosen on one half, reported on the other
    fam = {a: ambiguity_score(probs, lab, prior=a).astype(float) for a in PRIORS}
    perm = np.random.default_rng(23).permutation(n)
    half_a, half_b = np.sort(perm[: n // 2]), np.sort(perm[n // 2:])

    def pick(h: np.ndarray) -> tuple[int, dict]:
        r = {a: _spearman(x[h], spread[h]) for a, x in fam.items()}
        return max(r, key=r.get), r

    a_a, r_a = pick(half_a)
    a_b, r_b = pick(half_b)
    lo, hi = _diff_ci(fam[a_a], base, spread, half_b, boots, 1)
    crossed = np.empty(n)
    crossed[half_b], crossed[half_a] = fam[a_a][half_b], fam[a_b][half_a]
    clo, chi = _diff_ci(crossed, base, spread, all_rows, boots, 2)
    picks, held = [], []
    for k in range(splits):
        p2 = np.random.default_rng(1000 + k).permutation(n)
        ha, hb = p2[: n // 2], p2[n // 2:]
        a, _ = pick(ha)
        picks.append(a)
        held.append(_spearman(fam[a][hb], spread[hb]) - _spearman(base[hb], spread[hb]))
    held = np.array(held)
    fmt = ", ".join
    notes += [
        f"The label-vote prior a (q = (a p + given label) / (a + 1); the product's LABEL_PRIOR = {LABEL_PRIOR:g}), "
        f"chosen on one half of the {n} rows (seeded split, {len(half_a)} / {len(half_b)} rows) among "
        f"{', '.join(map(str, PRIORS))}:",
        f"- half A's Spearman per a: {fmt(f'{a} {r:.3f}' for a, r in r_a.items())}: **a = {a_a}**; "
        f"on half B: {_spearman(fam[a_a][half_b], spread[half_b]):.3f} against 1 - p(label)'s "
        f"{_spearman(base[half_b], spread[half_b]):.3f}, difference CI {lo:+.3f} .. {hi:+.3f}",
        f"- half B alone picks a = {a_b} ({fmt(f'{a} {r:.3f}' for a, r in r_b.items())}); cross-fitted (each half "
        f"scored with the a the other half picked), all {n} rows: {_spearman(crossed, spread):.3f} against "
        f"{_spearman(base, spread):.3f}, difference CI **{clo:+.3f} .. {chi:+.3f}**",
        f"- {splits} random half splits (pick a on one half, measure on the other): a picked "
        f"{fmt(f'{a} x{c}' for a, c in pd.Series(picks).value_counts().items())}; held-out difference with "
        f"1 - p(label) median {np.median(held):+.3f} (2.5-97.5 %: {np.percentile(held, 2.5):+.3f} .. "
        f"{np.percentile(held, 97.5):+.3f}), above 0 in {int((held > 0).sum())} of {splits}",
        "The other rows of the table were measured on all rows, none chosen by them; the bootstrap "
        f"resamples faces ({boots} draws)."]
    return pd.DataFrame(table), notes


# ---------------------------------------------------------------- 3. planted outliers
WORDS = ["INVOICE", "total 42.00", "lorem ipsum", "STOP", "meeting at 10", "page 3", "hello world", "FER+",
         "chapter", "no entry", "sale -50%", "2026-12-07"]


def planted_image(kind: str, k: int, rng: np.random.Generator, faces: list[np.ndarray], size: int) -> np.ndarray:
    if kind == "blank":
        g = np.full((size, size), rng.integers(20, 235), np.float32) + rng.normal(0, 1.0, (size, size))
    elif kind == "dark":
        f = cv2.cvtColor(faces[rng.integers(len(faces))], cv2.COLOR_RGB2GRAY).astype(np.float32)
        g = f * rng.uniform(0.05, 0.15)
    elif kind == "text":
        g = np.full((size, size), rng.integers(180, 255), np.float32)
        for line in range(rng.integers(2, 5)):
            cv2.putText(g, WORDS[rng.integers(len(WORDS))], (int(rng.integers(0, size // 6)),
                        int((line + 1) * size / 5)), cv2.FONT_HERSHEY_SIMPLEX, size / 160, float(rng.integers(0, 60)),
                        max(1, size // 96))
    else:   # a non-face: random shapes and gradients
        yy, xx = np.mgrid[0:size, 0:size] / size
        g = 255 * (0.5 + 0.5 * np.sin(2 * np.pi * (rng.uniform(1, 4) * xx + rng.uniform(1, 4) * yy)))
        for _ in range(rng.integers(2, 6)):
            c = tuple(int(v) for v in rng.integers(0, size, 2))
            if rng.random() < 0.5:
                cv2.circle(g, c, int(rng.integers(size // 10, size // 3)), float(rng.integers(0, 255)), -1)
            else:
                cv2.rectangle(g, c, tuple(int(v) for v in rng.integers(0, size, 2)), float(rng.integers(0, 255)), -1)
    g = np.clip(g, 0, 255).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


def embed(run: Path, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, C), probs (N, K)) of the run's model, averaged over each image and its mirror."""
    import torch
    from eac_core.infer import Explainer
    from eac_core.preprocess import resize_uint8, to_tensor
    ex = Explainer.load(run)
    torch.set_num_threads(1)
    feats, probs = [], []
    with torch.no_grad():
        for b in range(0, len(images), 128):
            x = to_tensor(np.stack([resize_uint8(im, ex.image_size) for im in images[b:b + 128]]), ex.preprocessing)
            logits, f = ex.model(torch.cat([x, x.flip(3)]))
            n = len(x)
            feats.append(((f[:n].mean((2, 3)) + f[n:].mean((2, 3))) / 2).numpy())
            probs.append(((logits[:n] + logits[n:]) / 2).softmax(1).numpy())
    return np.concatenate(feats), np.concatenate(probs)


def planted_set(name: str, pattern: str, per_kind: int, work: Path, run: Path, seed: int,
                cleanvision: bool = True) -> tuple[pd.DataFrame, dict]:
    files = sorted(glob.glob(str(SHARED / pattern)))
    faces = [load_image(f) for f in files]
    size = faces[0].shape[0]
    rng = np.random.default_rng(seed)
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    images, kinds, labels = list(faces), ["face"] * len(faces), [Path(f).parent.name for f in files]
    for kind in PLANTED_KINDS:
        for k in range(per_kind):
            im = planted_image(kind, k, rng, faces, size)
            images.append(im)
            kinds.append(kind)
            labels.append(labels[int(rng.integers(len(faces)))])
    paths = []
    for k, im in enumerate(images):
        p = folder / f"{k:05d}_{kinds[k]}.png"
        cv2.imwrite(str(p), cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
        paths.append(str(p))
    y = np.array([k != "face" for k in kinds])
    sig = measure_all(paths, jobs=1)
    table = find_issues(sig, np.array(labels), np.full(len(paths), "train"))
    quality = table[table["issue"].isin(["blank", "dark", "bright", "low_information", "blurry"])]
    flagged = np.zeros(len(paths), bool)
    flagged[quality["row"].to_numpy()] = True
    feats, probs = embed(run, images)
    ours = outlier_score(feats)
    dl, dl_k = datalab_outlier(feats, labels), datalab_outlier(feats, labels, OUTLIER_K)
    both = flagged * 10.0 + ours                                 # quality-flagged first, then by outlier
    out = {"set": name, "faces": len(faces), "planted": int(y.sum()),
           OURS: auroc(y, ours),
           BEFORE: auroc(y, before_outlier(feats)),
           f"kNN mean distance, k {OUTLIER_K} (no lift)": auroc(y, outlier_score(feats, isolation=0)),
           "kNN mean distance, k 10": auroc(y, outlier_score(feats, k=10, isolation=0)),
           DATALAB: auroc(y, dl), f"Datalab outlier, k {OUTLIER_K}": auroc(y, dl_k),
           "quality checks (flag)": auroc(y, flagged.astype(float)),
           "quality flag, then kNN outlier": auroc(y, both),
           "faces flagged by quality": int(flagged[~y].sum())}
    per_kind = {}
    for kind in PLANTED_KINDS:
        m = (np.array(kinds) == kind) | ~y
        per_kind[kind] = {"kNN": auroc(y[m], ours[m]), "Datalab": auroc(y[m], dl[m]),
                          "quality flagged": f"{int(flagged[np.array(kinds) == kind].sum())}/{per_kind_n(kinds, kind)}",
                          "both": auroc(y[m], both[m])}
    out["per kind"] = per_kind
    out["cleanvision"] = cleanvision_on(paths, y, kinds) if cleanvision else ""
    return pd.DataFrame(per_kind).T, out


OURS = (f"outlier (product: k {OUTLIER_K}, lifted where the distance to {OUTLIER_LOCAL_K} is above its "
        f"q{OUTLIER_ISOLATED_Q})")
BEFORE = "LOF's density ratio ^ 1/4 instead of the lift (before)"
DATALAB = "Datalab outlier (its default k 10)"


def before_outlier(feats: np.ndarray, k: int = OUTLIER_K, local: int = OUTLIER_LOCAL_K) -> np.ndarray:
    """The outlier score the product had before the isolation lift, for the comparison: the k = 50 mean
    distance times LOF's local density ratio at 10 neighbours (the row's mean distance to its 10 nearest
    over theirs, each + 1e-3) to the power 1/4."""
    from sklearn.neighbors import NearestNeighbors
    x = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    dist, idx = NearestNeighbors(n_neighbors=max(k, local) + 1).fit(x).kneighbors(x)
    dist, idx = dist[:, 1:], idx[:, 1:]
    near = dist[:, :local].mean(1)
    return dist[:, :k].mean(1) * ((near + 1e-3) / (near[idx[:, :local]].mean(1) + 1e-3)) ** 0.25


def datalab_outlier(feats: np.ndarray, labels: list[str], k: int | None = None) -> np.ndarray:
    """cleanlab Datalab's outlier score on `feats` (higher = more of an outlier), with its default k
    unless `k`; NaN when Datalab is not installed."""
    try:
        from cleanlab import Datalab
    except ImportError as e:            # cleanlab without its datalab extra (pip install "cleanlab[datalab]")
        print(f"Datalab anchor skipped: {e}", flush=True)
        return np.full(len(feats), np.nan)
    lab = Datalab(data={"label": labels}, label_name="label", verbosity=0)
    lab.find_issues(features=feats, issue_types={"outlier": {} if k is None else {"k": k}})
    return 1.0 - lab.get_issues("outlier")["outlier_score"].to_numpy()


def per_kind_n(kinds: list[str], kind: str) -> int:
    return sum(k == kind for k in kinds)


def cleanvision_on(paths: list[str], y: np.ndarray, kinds: list[str]) -> str:
    try:
        import cleanvision
        from cleanvision import Imagelab
    except ImportError:
        print("CleanVision anchor skipped: not installed (pip install cleanvision)", flush=True)
        return "CleanVision not installed"
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        lab = Imagelab(filepaths=paths)
        lab.find_issues({"dark": {}, "light": {}, "blurry": {}, "low_information": {}, "odd_size": {},
                         "exact_duplicates": {}, "near_duplicates": {}})
    iss = lab.issues
    flag_cols = [c for c in iss.columns if c.startswith("is_") and c.endswith("_issue")]
    quality_cols = [c for c in flag_cols if "duplicates" not in c]
    any_flag = iss[quality_cols].any(axis=1).to_numpy()
    kinds_a = np.array(kinds)
    parts = [f"{k} {int(any_flag[kinds_a == k].sum())}/{int((kinds_a == k).sum())}" for k in PLANTED_KINDS]
    on_faces = ", ".join(f"{c[3:-6]} {int(iss[c].to_numpy()[~y].sum())}" for c in flag_cols)
    return (f"(CleanVision {cleanvision.__version__}) image-quality types flag planted {', '.join(parts)}; on the {int((~y).sum())} real faces: "
            f"{int(any_flag[~y].sum())} flagged by a quality type (by type: {on_faces})")


def planted_outliers(args, work: Path, run: Path) -> list[str]:
    """Section 3 over every --per-kind level and --seeds seed: mean ± sd of each score's AUROC per set
    and level; the per-kind table and CleanVision of the first seed."""
    md = []
    levels = [int(x) for x in str(args.per_kind).split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    for name, pattern, base in (("ckplus48", "ckplus48/*/*.png", 0), ("jaffe", "jaffe/*/*.tiff", 1)):
        for level in levels:
            rows = []
            for seed in seeds:
                log(f"planted outliers in {name}: {level} of each kind, seed {seed}")
                per_kind, out = planted_set(name, pattern, level, work, run, base + 10 * seed,
                                            cleanvision=seed == seeds[0])
                rows.append({k: v for k, v in out.items() if isinstance(v, float)})
                if seed == seeds[0]:
                    first, first_out = per_kind, out
            table = pd.DataFrame(rows).agg(["mean", "std"]).T
            table["AUROC (mean ± sd)"] = [f"{m:.4f} ± {sd:.4f}" for m, sd in zip(table["mean"], table["std"])]
            diff = np.array([r[OURS] - r[DATALAB] for r in rows])
            versus = (f"The product against Datalab's default, seed by seed: ahead in {int((diff > 0).sum())}, "
                      f"level in {int((diff == 0).sum())}, behind in {int((diff < 0).sum())} of {len(rows)} "
                      f"(largest shortfall {max(0.0, -diff.min()):.4f}).")
            print(f"{name}, {level} of each kind, seeds {args.seeds}:\n", table.to_string(), "\n", versus, flush=True)
            md += [f"## 3. Planted outliers in {name}: {level} of each kind ({', '.join(PLANTED_KINDS)}), "
                   f"seeds {','.join(str(base + 10 * s) for s in seeds)}\n",
                   f"{first_out['faces']} real faces, {first_out['planted']} planted; the planted images of one kind "
                   f"look alike, so they are each other's nearest neighbours.\n",
                   table[["AUROC (mean ± sd)"]].to_markdown(), "", versus, "",
                   f"Per kind, seed {base + 10 * seeds[0]} (AUROC of that kind against the real faces):\n",
                   first.to_markdown(floatfmt=".3f"), ""]
            if first_out["cleanvision"]:
                md.append(f"CleanVision on the same files (seed {base + 10 * seeds[0]}): {first_out['cleanvision']}\n")
    return md


# ---------------------------------------------------------------- 8. FER+'s "unknown" / "not a face" votes
def fer_unclear(run: Path, *, boots: int = 1000) -> tuple[pd.DataFrame, list[str]]:
    """Section 8, real outliers: every fer2013_dev face embedded by the run's model (mirror-averaged, as
    section 3), each outlier score computed on all 32,040, then scored on truth.csv's 1,790 rows against
    FER+'s annotators: a face is unclear when at least N of its 10 votes are "unknown" or "not a face".
    AUROC at N = 2 and 3, Spearman with the count, and the bootstrap interval of the product's AUROC minus
    Datalab's default."""
    from scipy.stats import spearmanr
    labels = pd.read_csv(FER / "labels.csv")
    feats, _ = embed(run, [load_image(str(FER / p)) for p in labels["path"]])
    truth = pd.read_csv(FER / "truth.csv").merge(labels.reset_index(), on="path")
    rows = truth["index"].to_numpy()
    odd = (truth["unknown"] + truth["NF"]).to_numpy()
    scores = {OURS: outlier_score(feats),
              BEFORE: before_outlier(feats),
              f"kNN mean distance, k {OUTLIER_K} (no lift)": outlier_score(feats, isolation=0),
              DATALAB: datalab_outlier(feats, labels["label"].tolist()),
              f"Datalab outlier, k {OUTLIER_K}": datalab_outlier(feats, labels["label"].tolist(), OUTLIER_K)}
    table = pd.DataFrame({name: {**{f"AUROC, >= {n} of 10 votes unknown/NF ({int((odd >= n).sum())} faces)":
                                    auroc(odd >= n, sc[rows]) for n in (2, 3)},
                                 "Spearman with the unknown/NF votes": spearmanr(sc[rows], odd).statistic}
                          for name, sc in scores.items()}).T
    notes = [f"{len(labels):,} faces embedded; {len(rows):,} with FER+ votes."]
    for n in (2, 3):
        y, ours, dl = odd >= n, scores[OURS][rows], scores[DATALAB][rows]
        lo, hi = _diff_ci(ours, dl, y, np.arange(len(y)), boots, 0, metric=lambda s, t: auroc(t, s))
        notes.append(f">= {n} votes: the product's AUROC minus Datalab's default {auroc(y, ours) - auroc(y, dl):+.4f}, "
                     f"95 % bootstrap interval {lo:+.4f} .. {hi:+.4f} ({boots} resamples)")
    return table, notes


# ---------------------------------------------------------------- 4. CK+ bursts
OFF = Thresholds(shift_radius=-1)      # the perceptual hash alone: near duplicates before the keypoint hashes


def ck_bursts() -> pd.DataFrame:
    """Per threshold set: how many CK+48 sequences the near-duplicate groups hold together, and how many
    groups join two sequences (of one subject: a person posing two expressions; of two subjects)."""
    files = sorted(glob.glob(str(SHARED / "ckplus48/*/*.png")))
    sig = measure_all(files, jobs=1)
    lab = np.array([Path(f).parent.name for f in files])
    seq = np.array(["_".join(Path(f).stem.split("_")[:2]) for f in files])
    subject = np.array([Path(f).stem.split("_")[0] for f in files])
    seqs = pd.Series(range(len(files))).groupby(seq).apply(list)
    out = {}
    for name, th in (("perceptual hash alone (before)", OFF), ("with keypoint hashes (product)", Thresholds())):
        table = find_issues(sig, lab, np.full(len(files), "train"), thresholds=th)
        near = table[table["issue"].isin(["near_duplicate", "exact_duplicate"])]
        group_of = dict(zip(near["row"], near["group"]))
        rows = near["row"].to_numpy()
        per = near.assign(seq=seq[rows], subject=subject[rows]).groupby("group")
        out[name] = {"sequences": len(seqs),
                     "all frames in one group": sum(len({group_of.get(r, f"none{r}") for r in rs}) == 1 for rs in seqs),
                     "at least 2 frames grouped": sum(len({group_of[r] for r in rs if r in group_of}) >= 1 for rs in seqs),
                     "groups": int(near["group"].nunique()),
                     "groups joining sequences of one subject": int(((per["seq"].nunique() > 1)
                                                                     & (per["subject"].nunique() == 1)).sum()),
                     "groups joining two subjects": int((per["subject"].nunique() > 1).sum()),
                     "rows in groups joining two subjects": int(per.size()[per["subject"].nunique() > 1].sum())}
    return pd.DataFrame(out)


# ---------------------------------------------------------------- 5. near groups on fer2013_dev vs an oracle
ORACLE_ZOOMS = tuple(np.round(np.exp(np.linspace(np.log(0.8), np.log(1.25), 13)), 4))
ORACLE_SAME = 0.8


def aligned_ncc(a: np.ndarray, b: np.ndarray) -> float:
    """The oracle: the best normalised correlation of the central 70 % of one grey image inside the other
    zoomed by 0.8..1.25 (13 steps) at any shift, both ways (OpenCV matchTemplate). On fer2013_dev pairs
    looked at by eye: the same photo shifted, cropped, zoomed or re-encoded scores 0.9-1.0, different
    people 0.4-0.85; some copies zoomed beyond 1.25 or retouched score under 0.8 too."""
    if a.shape != b.shape:
        b = cv2.resize(b, a.shape[::-1], interpolation=cv2.INTER_AREA)

    def one(x: np.ndarray, y: np.ndarray) -> float:
        h, w = x.shape
        c = int(round(h * 0.15))
        t = x[c:h - c, c:w - c].astype(np.float32)
        best = -1.0
        for z in ORACLE_ZOOMS:
            yz = cv2.resize(y.astype(np.float32), (int(round(w * z)), int(round(h * z))), interpolation=cv2.INTER_LINEAR)
            if yz.shape[0] >= t.shape[0] and yz.shape[1] >= t.shape[1]:
                best = max(best, float(cv2.matchTemplate(yz, t, cv2.TM_CCOEFF_NORMED).max()))
        return best
    return max(one(a, b), one(b, a))


def _oracle_split(rows: np.ndarray, gray, cache: dict) -> tuple[int, float]:
    """(components, weakest link) of a group when only the pairs the oracle accepts link its members."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    n = len(rows)
    a, b = np.triu_indices(n, 1)
    sc = np.array([cache.setdefault((rows[i], rows[j]), aligned_ncc(gray(rows[i]), gray(rows[j])))
                   for i, j in zip(a, b)])
    ok = sc >= ORACLE_SAME
    k, _ = connected_components(coo_matrix((np.ones(ok.sum()), (a[ok], b[ok])), shape=(n, n)), directed=False)
    return k, float(sc.max(initial=1.0))


def fer_near_oracle(labels: pd.DataFrame, sig: np.ndarray, work: Path) -> tuple[pd.DataFrame, list[str]]:
    """Section 5: fer2013_dev's near-duplicate groups with the perceptual hash alone and with the keypoint
    hashes; a group is false when the pairs the oracle accepts (aligned_ncc >= 0.8) do not hold it
    together. The false groups' pairs are drawn to work/fer_false_groups_*.png for a look by eye."""
    from functools import lru_cache
    paths = [str(FER / p) for p in labels["path"]]

    @lru_cache(maxsize=None)
    def gray(r: int) -> np.ndarray:
        return cv2.imread(paths[r], cv2.IMREAD_GRAYSCALE)

    cache: dict = {}
    out, notes = {}, []
    before_rows: set = set()
    for name, th in (("perceptual hash alone (before)", OFF), ("with keypoint hashes (product)", Thresholds())):
        t0 = time.monotonic()
        table = find_issues(sig, labels["label"].to_numpy(), labels["split"].to_numpy(), thresholds=th)
        t_find = time.monotonic() - t0
        near = table[table["issue"] == "near_duplicate"]
        groups = near.groupby("group", observed=True)["row"].apply(lambda r: np.sort(r.to_numpy()))
        false = []
        for g, rows in groups.items():
            k, _ = _oracle_split(rows, gray, cache)
            if k > 1:
                false.append(rows)
        rows_now = set(near["row"])
        out[name] = {"find s": round(t_find, 2), "near-duplicate groups": len(groups), "near-duplicate rows": len(near),
                     "rows not in a near group before": len(rows_now - before_rows) if before_rows else 0,
                     "false groups (the oracle splits them)": len(false),
                     "rows in false groups": int(sum(map(len, false)))}
        before_rows = before_rows or rows_now
        if false:
            tiles = []
            for rows in false[:24]:
                im = np.concatenate([cv2.resize(gray(r), (48, 48)) for r in rows[:4]], 1)
                tiles.append(np.pad(im, ((0, 2), (0, 4 * 48 - im.shape[1] + 2))))
            sheet = work / f"fer_false_groups_{'after' if th.shift_radius >= 0 else 'before'}.png"
            work.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(sheet), cv2.resize(np.concatenate(tiles, 0), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))
            notes.append(f"{name}: the false groups' first members drawn to `{sheet}` (one group a row).")
    return pd.DataFrame(out), notes


# ---------------------------------------------------------------- 6. planted copies in CK+48 and JAFFE
COPY_KINDS = ("shifted", "cropped", "resized", "jpeg70")


def _copy(im: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    h, w = im.shape[:2]
    if kind == "shifted":            # translated by up to 5 % of the side on each axis, border replicated
        dx, dy = rng.uniform(-0.05, 0.05, 2) * np.array([w, h])
        return cv2.warpAffine(im, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
    if kind == "cropped":            # 95-99 % of the side at a random place, resized to the original size
        f = rng.uniform(0.95, 0.99)
        cw, ch = int(round(w * f)), int(round(h * f))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return cv2.resize(im[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)
    if kind == "resized":            # another size: 1.5x for small faces, 0.5x for large ones
        z = 1.5 if w <= 64 else 0.5
        return cv2.resize(im, (int(round(w * z)), int(round(h * z))), interpolation=cv2.INTER_AREA if z < 1 else cv2.INTER_LINEAR)
    return im                        # jpeg70: the pixels as they are, written as JPEG quality 70


def planted_copies(name: str, pattern: str, n: int, work: Path, seed: int,
                   subject_of) -> tuple[pd.DataFrame, dict]:
    """Section 6: n faces of the set each copied four ways (COPY_KINDS) beside all the set's faces;
    recall per kind (the copy in one group, exact or near, with its source) and the groups that join
    two subjects, with the perceptual hash alone and with the keypoint hashes."""
    files = sorted(glob.glob(str(SHARED / pattern)))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(files), n, replace=False)
    folder = work / f"copies_{name}"
    folder.mkdir(parents=True, exist_ok=True)
    paths, source, kind_of = list(files), list(range(len(files))), ["original"] * len(files)
    for src in chosen:
        im = load_image(files[src])
        for kind in COPY_KINDS:
            out = _copy(im, kind, rng)
            p = folder / f"{src:05d}_{kind}.{'jpg' if kind == 'jpeg70' else 'png'}"
            cv2.imwrite(str(p), cv2.cvtColor(out, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 70] if kind == "jpeg70" else [])
            paths.append(str(p))
            source.append(int(src))
            kind_of.append(kind)
    source, kind_of = np.array(source), np.array(kind_of)
    subject = np.array([subject_of(files[s]) for s in source])
    sig = measure_all(paths, jobs=1)
    labels = np.array([Path(files[s]).parent.name for s in source])
    rows, extra = {}, {}
    for label, th in (("perceptual hash alone (before)", OFF), ("with keypoint hashes (product)", Thresholds())):
        table = find_issues(sig, labels, np.full(len(paths), "train"), thresholds=th)
        dup = table[table["issue"].isin(["near_duplicate", "exact_duplicate"])]
        near = dup[dup["issue"] == "near_duplicate"]
        group = dict(zip(near["row"], near["group"]))
        for r, g in zip(dup["row"], dup["group"]):
            group.setdefault(r, g)
        copies = np.flatnonzero(kind_of != "original")
        found = np.array([r in group and group.get(r) == group.get(int(source[r])) for r in copies])
        rows[label] = {f"{k} ({n})": f"{int(found[kind_of[copies] == k].sum())}/{n}" for k in COPY_KINDS}
        per = near.assign(subject=subject[near["row"].to_numpy()], source=source[near["row"].to_numpy()]).groupby(
            "group", observed=True)
        two_sources = per["source"].nunique() > 1
        one_subject = per["subject"].nunique() == 1
        extra[label] = {"near groups": int(near["group"].nunique()),
                        "largest": int(per.size().max()) if len(near) else 0,
                        "groups joining two photos of one subject": int((two_sources & one_subject).sum()),
                        "groups joining two subjects": int((~one_subject).sum()),
                        "rows in groups joining two subjects": int(per.size()[~one_subject].sum()) if len(near) else 0}
    return pd.DataFrame(rows), extra


# ---------------------------------------------------------------- 7. what the keypoint hashes cost
def measure_cost(files: list[str], repeats: int = 3, batch: int = 16) -> dict:
    """CPU seconds per image of `dataset.measure` (decode and every measurement, `batch` files at a time as
    the import's workers do) with the keypoint hashes and with them replaced by zeros, interleaved in one
    process; the median of `repeats`."""
    import data_tools.issues.image as image
    from data_tools.issues.dataset import measure
    real = image.keypoint_hashes
    runs = {True: [], False: []}
    try:
        for _ in range(repeats):
            for on in (False, True):
                image.keypoint_hashes = real if on else (lambda g: np.zeros((len(g), 4), np.uint64))
                t = time.process_time()
                for b in range(0, len(files), batch):
                    measure(files[b:b + batch])
                runs[on].append((time.process_time() - t) / len(files))
    finally:
        image.keypoint_hashes = real
    off, on = float(np.median(runs[False])), float(np.median(runs[True]))
    return {"images": len(files), "us/image without": round(off * 1e6), "us/image with": round(on * 1e6),
            "ratio": round(on / off, 3)}


def find_cost(n: int) -> dict:
    """Seconds of near_groups on n random rows (the find's duplicate step), without and with the keypoint hashes."""
    from data_tools.issues.duplicates import near_groups
    rng = np.random.default_rng(0)
    ph = rng.integers(0, 2**63, n, dtype=np.uint64)
    sh = rng.integers(0, 2**63, (n, 4), dtype=np.uint64)
    ex = rng.integers(0, 255, (n, 16), dtype=np.uint8).view("V16").ravel()
    t = time.monotonic()
    near_groups(ph, ex, 4)
    t1 = time.monotonic() - t
    t = time.monotonic()
    near_groups(ph, ex, 4, sh, 2, 2)
    return {"rows": n, "s without": round(t1, 1), "s with": round(time.monotonic() - t, 1)}


def sections_of(text: str) -> tuple[str, dict[int, str]]:
    """(the text before the first numbered section, {n: the text of every "## n." heading's block})."""
    head, blocks, n = [], defaultdict(list), None
    for line in text.splitlines(keepends=True):
        m = re.match(r"## (\d+)\. ", line)
        n = int(m.group(1)) if m else n
        (head if n is None else blocks[n]).append(line)
    return "".join(head), {k: "".join(v) for k, v in blocks.items()}


def merged(new: str, old: str, want: set[int]) -> str:
    """`new` (this run's report) with the sections it did not run kept from `old` (the file it replaces),
    each marked with when it was measured, so that --sections 3 does not wipe sections 1-2 and 4-7."""
    head, fresh = sections_of(new)
    old_head, kept = sections_of(old)
    when = re.search(r"\(([0-9-]+ [0-9:]+) UTC\)", old_head)
    for n, text in kept.items():
        if n not in want and n not in fresh:
            heading, _, rest = text.partition("\n\n")
            if not rest.startswith("(kept from"):
                rest = f"(kept from the earlier run{' of ' + when.group(1) + ' UTC' if when else ''})\n\n{rest}"
            fresh[n] = f"{heading}\n\n{rest}"
    return head + "".join(fresh[n] for n in sorted(fresh))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(ROOT / ".cache" / "bench-issue-types"))
    ap.add_argument("--run", default=os.environ.get("FER_RUN", str(ROOT / ".cache" / "bench" / "pretrained" / "fer_cnn_ce8")),
                    help="the finished fer2013_dev run (default: $FER_RUN, else .cache/bench/pretrained/fer_cnn_ce8)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--per-kind", default="5,20", help="planted images of each kind per set (comma-separated levels)")
    ap.add_argument("--seeds", default="0,1,2", help="seeds of the planted images (section 3)")
    ap.add_argument("--copies", type=int, default=40, help="faces copied four ways per set (section 6)")
    ap.add_argument("--find-rows", type=int, default=2_000_000, help="random rows for the find's cost (0: skip)")
    ap.add_argument("--sections", default="1,2,3,4,5,6,7,8", help="which sections to run (comma-separated)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "issue_types.md"))
    args = ap.parse_args()
    work, run = Path(args.work), Path(args.run)
    want = {int(x) for x in args.sections.split(",") if x.strip()}
    if not FER.is_dir():
        print(f"error: {FER}: no such folder (../shared/data)", file=sys.stderr)
        return 2
    md = [f"# Issue types (issue 23): `python bench/bench_issue_types.py --sections {args.sections}` "
          f"({time.strftime('%Y-%m-%d %H:%M')} UTC)\n", f"Thresholds: {Thresholds()}\n"]
    fer = None
    if want & {1, 5}:
        log("fer2013_dev duplicates")
        table, dup, labels, sig = fer_duplicates(args.jobs)
        fer = (labels, sig)
        if 1 in want:
            md += ["## 1. fer2013_dev: duplicate groups against an independent pixel hash\n",
                   pd.Series(dup).to_frame("value").to_markdown(), "",
                   "First label-conflict / leak groups (the product's detail):\n",
                   table[table["issue"].isin(["label_conflict", "split_leak"])].drop_duplicates("group").head(8)
                   .to_markdown(index=False), ""]
            print(pd.Series(dup).to_string(), flush=True)
    if want & {2, 3, 8}:
        if not (run / "scores.parquet").is_file():
            print(f"(no run at {run}: ambiguity and outliers skipped)", flush=True)
            md.append(f"(no run at {run}: ambiguity and outliers skipped)\n")
        else:
            where = run.relative_to(ROOT) if run.is_relative_to(ROOT) else run
            if 2 in want:
                log("ambiguity vs FER+ votes")
                amb, notes = ambiguity_vs_votes(run)
                print(amb.to_string(index=False), "\n" + "\n".join(notes), flush=True)
                md += [f"## 2. Ambiguity against the FER+ vote spread (truth.csv rows with votes; run `{where}`)\n",
                       amb.to_markdown(index=False, floatfmt=".3f"), "", "\n\n".join(notes), ""]
            if 3 in want:
                md += planted_outliers(args, work, run)
            if 8 in want:
                log("outlier scores against FER+'s unknown / not-a-face votes")
                unclear, notes = fer_unclear(run)
                print(unclear.to_string(), "\n" + "\n".join(notes), flush=True)
                md += ["## 8. Real outliers: fer2013_dev faces FER+'s annotators called unknown or not a face\n",
                       unclear.to_markdown(floatfmt=".4f"), "", "\n\n".join(notes), ""]
    if 4 in want:
        log("CK+ bursts")
        ck = ck_bursts()
        print(ck.to_string(), flush=True)
        md += ["## 4. CK+48 bursts (3 frames per sequence) and the near-duplicate groups\n", ck.to_markdown(), ""]
    if 5 in want:
        log("fer2013_dev near groups against the oracle")
        near, notes = fer_near_oracle(fer[0], fer[1], work)
        print(near.to_string(), "\n" + "\n".join(notes), flush=True)
        md += ["## 5. fer2013_dev near-duplicate groups against an aligned-correlation oracle\n",
               f"A group is false when the pairs the oracle accepts (best correlation of the central 70 % at any shift "
               f"and a zoom of 0.8-1.25, both ways, >= {ORACLE_SAME}) do not hold it together.\n",
               near.to_markdown(), "", "\n\n".join(notes), ""]
    if 6 in want:
        for name, pattern, seed, subject_of in (
                ("ckplus48", "ckplus48/*/*.png", 0, lambda f: Path(f).stem.split("_")[0]),
                ("jaffe", "jaffe/*/*.tiff", 1, lambda f: Path(f).name.split(".")[0])):
            log(f"planted copies in {name}")
            rec, extra = planted_copies(name, pattern, args.copies, work, seed, subject_of)
            print(rec.to_string(), "\n", extra, flush=True)
            md += [f"## 6. {args.copies} faces of {name} copied four ways among all its faces: copies grouped with their source\n",
                   "shifted: translated by up to 5 % of the side on each axis (border replicated); cropped: 95-99 % of "
                   "the side at a random place, resized back; resized: 1.5x (CK+48) or 0.5x (JAFFE); jpeg70: JPEG "
                   "quality 70.\n", rec.to_markdown(), "", pd.DataFrame(extra).to_markdown(), ""]
    if 7 in want:
        log("cost of the keypoint hashes")
        fer_files = [str(FER / p) for p in pd.read_csv(FER / "labels.csv")["path"][:4000]]
        jaffe_files = sorted(glob.glob(str(SHARED / "jaffe/*/*.tiff")))
        cost = pd.DataFrame({"fer2013_dev 48-px PNG": measure_cost(fer_files),
                             "JAFFE 256-px TIFF": measure_cost(jaffe_files * 4)})
        print(cost.to_string(), flush=True)
        md += ["## 7. What the keypoint hashes cost\n",
               "CPU time per image of the import's per-image measurement (`dataset.measure`: decode, both hashes, "
               "the statistics; 16 files at a time as the import's workers), with the keypoint hashes and with "
               "them replaced by zeros, interleaved in one process, median of 3:\n", cost.to_markdown(), ""]
        if args.find_rows:
            fc = find_cost(args.find_rows)
            print(fc, flush=True)
            md += [f"The find's duplicate step (`near_groups`) on {fc['rows']:,} random rows: {fc['s without']} s with "
                   f"the perceptual hash alone, {fc['s with']} s with the keypoint hashes.\n"]
    out = Path(args.out)
    out.write_text(merged("\n".join(md) + "\n", out.read_text() if out.is_file() else "", want))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
