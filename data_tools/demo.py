"""The embedded demo dataset: procedurally drawn faces showing the seven basic expressions.

Each expression is a mix of facial action cues (brow raise / inner raise / furrow, eye widening,
lip-corner pull / depress, mouth opening and stretch, upper-lip raise, nose wrinkle, cheek raise) at a
graded intensity, on top of an identity's resting face, so that weak fear / surprise, sad / neutral and
disgust / angry overlap. Identities (face shape, skin tone, hair, glasses), pose, lighting, background
and occluders vary so that a network must read the expression. Faces are not left-right symmetric
(small head turns, lopsided smiles, light from one side, occluders on one side), so that a face and its
mirror image differ, as real faces do: the flip-consistency comparison of EAC has something to show.
Every sample is drawn from its own seeded generator, so the output does not depend on how the work is
split across processes.
"""
from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from data_tools.classes import BASIC7
from data_tools.manifest import INFO, DatasetInfo, write_dataset
from data_tools.noise import inject_symmetric

# Action cues, each 0 at rest; the prototypes give their value at full intensity.
CUES = ("brow_raise", "brow_inner", "brow_squeeze", "brow_arch", "eye_open", "mouth_curve",
        "mouth_open", "mouth_width", "upper_lip", "nose_wrinkle", "lip_press", "cheek", "teeth")
PROTOTYPES: dict[str, dict[str, float]] = {
    "angry": dict(brow_raise=-0.7, brow_inner=-1.0, brow_squeeze=1.0, eye_open=-0.15, lip_press=1.0,
                  mouth_width=-0.25, mouth_curve=-0.25, nose_wrinkle=0.25),
    "disgust": dict(brow_raise=-0.35, brow_inner=-0.5, brow_squeeze=0.5, eye_open=-0.45, nose_wrinkle=1.2,
                    upper_lip=1.0, mouth_curve=-0.6, mouth_open=0.2, cheek=0.3, teeth=0.35),
    "fear": dict(brow_raise=0.55, brow_inner=0.8, brow_squeeze=0.6, brow_arch=-0.4, eye_open=1.0,
                 mouth_open=0.5, mouth_width=0.45, mouth_curve=-0.5, teeth=0.7),
    "happy": dict(mouth_curve=1.2, mouth_width=0.3, mouth_open=0.35, eye_open=-0.35, cheek=1.0, teeth=1.0),
    "sad": dict(brow_inner=0.9, brow_squeeze=0.3, brow_arch=-0.2, eye_open=-0.25, mouth_curve=-0.9,
                mouth_width=-0.05),
    "surprise": dict(brow_raise=1.0, brow_arch=1.0, eye_open=0.9, mouth_open=1.0, mouth_width=-0.35),
    "neutral": {},
}
SKIN = np.array([[196, 224, 255], [125, 194, 241], [105, 172, 224], [66, 134, 198], [36, 85, 141],
                 [38, 58, 92]], np.float64)  # BGR, light to dark
HAIR = np.array([[20, 20, 25], [30, 45, 70], [60, 90, 130], [90, 160, 200], [40, 60, 150],
                 [150, 150, 155]], np.float64)
IRIS = np.array([[30, 50, 80], [140, 100, 50], [70, 110, 60], [25, 25, 30]], np.float64)
HAIR_STYLES = ("bald", "short", "long", "bangs", "bun")
OCCLUDERS = ("none", "hand", "bar", "blob", "hair")      # hand and hair cover one side of the face
SUB = 4  # sub-pixel bits for cv2 drawing


class _Pen:
    """Draws in unit coordinates (0..1 of the canvas) with anti-aliasing and sub-pixel precision."""

    def __init__(self, img: np.ndarray):
        self.img, self.s = img, img.shape[0] * (1 << SUB)

    def _p(self, pts) -> np.ndarray:
        return np.round(np.asarray(pts, np.float64) * self.s).astype(np.int32)

    def _w(self, width: float) -> int:
        return max(1, int(round(width * self.img.shape[0])))

    def ellipse(self, c, axes, color, angle=0.0, thick=-1.0, a0=0, a1=360):
        t = -1 if thick < 0 else self._w(thick)
        cv2.ellipse(self.img, tuple(self._p(c)), tuple(np.maximum(self._p(axes), 1)), angle, a0, a1,
                    tuple(map(float, color)), t, cv2.LINE_AA, SUB)

    def poly(self, pts, color):
        cv2.fillPoly(self.img, [self._p(pts)], tuple(map(float, color)), cv2.LINE_AA, SUB)

    def line(self, pts, color, thick):
        cv2.polylines(self.img, [self._p(pts)], False, tuple(map(float, color)), self._w(thick), cv2.LINE_AA, SUB)


def _bezier(p0, p1, p2, n: int = 9) -> np.ndarray:
    """Quadratic curve through p0 and p2 whose midpoint is p1 (not a control point)."""
    p0, p1, p2 = map(np.asarray, (p0, p1, p2))
    ctrl = 2 * p1 - (p0 + p2) / 2
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * ctrl + t ** 2 * p2


def _mix(palette: np.ndarray, t: float) -> np.ndarray:
    x = t * (len(palette) - 1)
    i = min(int(x), len(palette) - 2)
    return palette[i] * (1 - (x - i)) + palette[i + 1] * (x - i)


def identity(seed: int, pid: int) -> dict:
    """The look of one person: shape, colours, hair, glasses and resting expression."""
    r = np.random.default_rng([seed, 1, pid])
    skin = _mix(SKIN, r.random()) + r.normal(0, 6, 3)
    return dict(
        skin=skin, lip=skin * 0.5 + np.array([85, 75, 175]) * r.uniform(0.4, 0.6),
        hair=_mix(HAIR, r.random()) + r.normal(0, 5, 3), style=HAIR_STYLES[r.integers(len(HAIR_STYLES))],
        iris=IRIS[r.integers(len(IRIS))], face_w=r.uniform(0.27, 0.33), face_h=r.uniform(0.36, 0.42),
        eye_dx=r.uniform(0.115, 0.135), eye_y=r.uniform(0.44, 0.47), eye_w=r.uniform(0.055, 0.066),
        eye_h=r.uniform(0.024, 0.03), brow_t=r.uniform(0.04, 0.055), brow_len=r.uniform(0.075, 0.095),
        mouth_y=r.uniform(0.70, 0.73), mouth_w=r.uniform(0.11, 0.135), nose_len=r.uniform(0.12, 0.16),
        glasses=bool(r.random() < 0.22), glasses_round=bool(r.random() < 0.5),
        rest=dict(brow_raise=r.normal(0, 0.15), mouth_curve=r.normal(0, 0.15), eye_open=r.normal(0, 0.15),
                  brow_inner=r.normal(0, 0.12), mouth_width=r.normal(0, 0.1)),
    )


def expression(cls: str, intensity: float, ident: dict, r: np.random.Generator) -> dict[str, float]:
    """Cue values for one face: the identity's rest + intensity x prototype (cues varied, some dropped)."""
    cues = {k: ident["rest"].get(k, 0.0) + r.normal(0, 0.06) for k in CUES}
    for k, v in PROTOTYPES[cls].items():
        if r.random() < 0.08:  # people do not show every cue of an expression
            continue
        cues[k] += intensity * v * r.uniform(0.75, 1.25)
    for k in ("brow_squeeze", "nose_wrinkle", "upper_lip", "lip_press", "cheek", "teeth", "mouth_open"):
        cues[k] = max(cues[k], 0.0)
    return cues


def _draw_face(pen: _Pen, idn: dict, c: dict[str, float]) -> None:
    yaw = c.get("yaw", 0.0)            # head turn, -1 (to the image's left) .. 1; 0 = frontal
    cy, fw, fh = 0.52, idn["face_w"], idn["face_h"]
    cx = 0.5 + 0.04 * yaw              # the features move toward the turn, the head outline does not
    skin, hair, dark = idn["skin"], idn["hair"], idn["skin"] * 0.45
    style = idn["style"]
    if style in ("long", "bun"):
        pen.ellipse((cx, cy - 0.02), (fw + 0.07, fh + (0.1 if style == "long" else 0.02)), hair)
    if style == "bun":
        pen.ellipse((cx, cy - fh - 0.03), (0.09, 0.07), hair)
    for s in (-1, 1):                                                # ears: the far one hides
        if s * yaw < 0.35:
            pen.ellipse((0.5 + s * fw, idn["eye_y"] + 0.05), (0.03 * (1 - 0.5 * max(s * yaw, 0)), 0.06), skin * 0.92)
    pen.ellipse((0.5, cy + 0.18), (0.09, 0.3), skin * 0.9)           # neck
    pen.ellipse((0.5, cy), (fw, fh), skin)
    if style != "bald":
        top = cy - fh + 0.06
        pen.ellipse((0.5, top + 0.02), (fw + 0.015, 0.12), hair, a0=180, a1=360)
        if style == "bangs":
            pen.poly([(cx - fw + 0.02, top), (cx + fw - 0.02, top), (cx + 0.16, cy - fh + 0.17),
                      (cx - 0.12, cy - fh + 0.15)], hair)
    # brows: outer end, middle, inner end for each side (s = -1 left, +1 right)
    ey = idn["eye_y"]
    for s in (-1, 1):
        ex = cx + s * idn["eye_dx"]
        base = ey - 0.075 - 0.045 * c["brow_raise"]
        inner = (cx + s * max(0.03, idn["eye_dx"] - idn["brow_len"] / 2 - 0.025 * c["brow_squeeze"]),
                 base - 0.04 * c["brow_inner"] + 0.012 * c["brow_squeeze"])
        outer = (ex + s * idn["brow_len"] / 2, base + 0.012 * c["brow_inner"] + 0.01)
        mid = ((inner[0] + outer[0]) / 2, (inner[1] + outer[1]) / 2 - 0.012 - 0.018 * c["brow_arch"])
        pen.line(_bezier(outer, mid, inner), np.minimum(idn["hair"], skin) * 0.55, idn["brow_t"])
        # eye: sclera, iris (visible white above it when wide), lid line
        eh = max(0.006, idn["eye_h"] * (1 + 0.9 * c["eye_open"]))
        ew = idn["eye_w"] * (1 - 0.3 * max(-s * yaw, 0))              # the eye turning away looks narrower
        pen.ellipse((ex, ey), (ew, eh), (235, 238, 240))
        ir = 0.022
        pen.ellipse((ex, ey + max(0.0, eh - ir) * 0.5), (ir * 0.95, min(ir, eh)), idn["iris"])
        pen.ellipse((ex, ey + max(0.0, eh - ir) * 0.5), (0.009, min(0.009, eh)), (10, 10, 10))
        pen.ellipse((ex, ey), (ew, eh), dark, thick=0.016)
        if c["cheek"] > 0.3:  # cheek raise pushes up a fold under the eye
            pen.ellipse((ex, ey + eh + 0.015), (ew * 0.8, 0.015), skin * 0.78, thick=0.01, a0=200, a1=340)
    if c["brow_squeeze"] > 0.5:   # vertical furrows between the brows
        d = 0.012
        for s in (-1, 1):
            pen.line([(cx + s * d, ey - 0.11), (cx + s * d * 0.6, ey - 0.07)], skin * 0.7, 0.01 * c["brow_squeeze"])
    # nose, wrinkles across its bridge
    ny = idn["eye_y"] + idn["nose_len"]
    tip = 0.03 * yaw                                                 # the nose points into the turn
    pen.line([(cx + 0.005, ey + 0.02), (cx + 0.015 + tip, ny - 0.01), (cx + tip, ny + 0.005)], skin * 0.75, 0.012)
    nw = 0.03 + 0.012 * c["nose_wrinkle"]
    for s in (-1, 1):
        pen.ellipse((cx + s * nw, ny - 0.006 * c["nose_wrinkle"]), (0.012, 0.008), dark)
    if c["nose_wrinkle"] > 0.2:
        for k in range(3):
            y = ey + 0.025 + 0.018 * k
            pen.line(_bezier((cx - 0.035, y + 0.008), (cx, y), (cx + 0.035, y + 0.008), 5), skin * 0.55,
                     0.012 * min(c["nose_wrinkle"], 1.5))
    # nasolabial folds (smile, disgust)
    my, mw = idn["mouth_y"], idn["mouth_w"] * (1 + 0.35 * c["mouth_width"])
    if c["cheek"] > 0.2:
        for s in (-1, 1):
            pen.line(_bezier((cx + s * (nw + 0.015), ny - 0.01), (cx + s * (mw + 0.02), ny + 0.04),
                             (cx + s * (mw + 0.02), my + 0.02), 6), skin * 0.72, 0.01 * min(c["cheek"], 1.5))
    _draw_mouth(pen, idn, c, cx, my, mw)


def _draw_mouth(pen: _Pen, idn: dict, c: dict[str, float], cx: float, my: float, mw: float) -> None:
    lop = c.get("lopsided", 0.0)        # one mouth corner pulled more than the other (-1 .. 1)
    op = 0.14 * c["mouth_open"]
    left = (cx - mw, my - 0.055 * c["mouth_curve"] * (1 - lop) - 0.012 * lop)
    right = (cx + mw, my - 0.055 * c["mouth_curve"] * (1 + lop) + 0.012 * lop)
    upper = _bezier(left, (cx, my - 0.01 - 0.035 * c["upper_lip"] - 0.15 * op), right)
    lower = _bezier(right, (cx, my + 0.005 + 0.85 * op - 0.012 * min(c["mouth_curve"], 0)), left)
    lip_t = 0.034 * (1 - 0.55 * min(c["lip_press"], 1))
    if op + 0.03 * c["upper_lip"] > 0.012:
        pen.poly(np.vstack([upper, lower]), (35, 25, 60))
        if c["teeth"] > 0.3:
            band = upper + np.array([0, min(0.03, op + 0.02 * c["upper_lip"])])
            pen.poly(np.vstack([upper[1:-1], band[::-1][1:-1]]), (225, 230, 235))
        pen.line(np.vstack([upper, lower, upper[:1]]), idn["lip"], lip_t)
    else:
        pen.line(upper, idn["lip"] * (1 - 0.3 * min(c["lip_press"], 1)), lip_t * 1.3)
        pen.line(upper, (30, 25, 45), 0.012)  # the seam reads on every skin tone


def _ramp(size: int, angle: float) -> np.ndarray:
    """A linear ramp from -0.5 to 0.5 across the image in direction `angle`, (size, size) float32."""
    small = np.linspace(-0.5, 0.5, 8, dtype=np.float32)
    ramp = np.cos(angle) * small[None, :] + np.sin(angle) * small[:, None]
    return cv2.resize(ramp, (size, size), interpolation=cv2.INTER_LINEAR)


def _background(size: int, r: np.random.Generator) -> np.ndarray:
    base = r.uniform(60, 200) + r.uniform(-30, 30, 3)
    g = r.uniform(-40, 40, 3)
    small = base + g * _ramp(6, r.uniform(0, 2 * np.pi))[..., None] + r.normal(0, r.uniform(5, 25), (6, 6, 3))
    return np.clip(cv2.resize(small.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC), 0, 255)


def _occlude(pen: _Pen, kind: str, idn: dict, r: np.random.Generator) -> None:
    side = -1 if r.random() < 0.5 else 1
    x, y = 0.5 + side * r.uniform(0.12, 0.25), r.uniform(0.55, 0.95)
    if kind == "hand":        # a hand on one cheek or the jaw
        pen.ellipse((x, y), (r.uniform(0.08, 0.12), r.uniform(0.1, 0.14)), idn["skin"] * r.uniform(0.85, 1.05),
                    angle=r.uniform(0, 180))
    elif kind == "hair":      # a lock of hair over one eye
        ex = 0.5 + side * idn["eye_dx"]
        pen.poly([(ex - 0.06, idn["eye_y"] - 0.2), (ex + 0.07, idn["eye_y"] - 0.2), (ex + 0.03 * side, idn["eye_y"] + 0.09),
                  (ex - 0.02 * side, idn["eye_y"] + 0.05)], idn["hair"])
    elif kind == "bar":
        pen.line([(r.uniform(0, 0.3), y), (r.uniform(0.7, 1.0), y + r.uniform(-0.2, 0.2))],
                 r.uniform(0, 255, 3), r.uniform(0.03, 0.06))
    elif kind == "blob":
        pen.ellipse((x, r.uniform(0.1, 0.9)), (r.uniform(0.05, 0.1), r.uniform(0.05, 0.1)), r.uniform(0, 255, 3))


def render(seed: int, split: str, index: int, cls: str, pid: int, size: int) -> tuple[np.ndarray, dict]:
    """One face image (size, size, 3) uint8 BGR and its metadata; a pure function of its arguments."""
    r = np.random.default_rng([seed, 2, 0 if split == "train" else 1, index])
    idn = identity(seed, pid)
    canvas = 2 * size  # draw at twice the size, then shrink: smooth edges at any output size
    intensity = 0.0 if cls == "neutral" else float(1.0 - 0.75 * r.random() ** 2)  # mostly clear, some weak
    cues = expression(cls, intensity, idn, r)
    cues["yaw"] = float(np.clip(r.normal(0, 0.45), -1, 1))
    cues["lopsided"] = float(np.clip(r.normal(0, 0.35), -0.8, 0.8))
    img = _background(canvas, r)
    pen = _Pen(img)
    _draw_face(pen, idn, cues)
    if idn["glasses"]:
        col = idn["hair"] * 0.5 if r.random() < 0.7 else r.uniform(0, 200, 3)
        for s in (-1, 1):
            ex = 0.5 + s * idn["eye_dx"]
            if idn["glasses_round"]:
                pen.ellipse((ex, idn["eye_y"]), (0.068, 0.058), col, thick=0.014)
            else:
                pen.line([(ex - 0.07, idn["eye_y"] - 0.05), (ex + 0.07, idn["eye_y"] - 0.05),
                          (ex + 0.07, idn["eye_y"] + 0.045), (ex - 0.07, idn["eye_y"] + 0.045),
                          (ex - 0.07, idn["eye_y"] - 0.05)], col, 0.014)
        pen.line([(0.5 - idn["eye_dx"] + 0.068, idn["eye_y"]), (0.5 + idn["eye_dx"] - 0.068, idn["eye_y"])],
                 col, 0.012)
    occluder = OCCLUDERS[0] if r.random() > 0.15 else OCCLUDERS[1 + r.integers(len(OCCLUDERS) - 1)]
    if occluder != "none":
        _occlude(pen, occluder, idn, r)
    # pose: rotation, scale, shift
    angle, scale = r.uniform(-8, 8), r.uniform(1.15, 1.32)
    m = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), angle, scale)
    m[:, 2] += (r.uniform(-0.04, 0.04, 2) + (0, -0.06)) * canvas
    img = cv2.warpAffine(img, m, (canvas, canvas), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    # lighting: directional gradient, gain, colour cast, sensor noise
    side_light = r.random() < 0.4          # light from one side: one half of the face in shadow
    direction = (0.0 if r.random() < 0.5 else np.pi) + r.uniform(-0.3, 0.3) if side_light else r.uniform(0, 2 * np.pi)
    light = 1 + (r.uniform(0.5, 0.9) if side_light else r.uniform(0, 0.6)) * _ramp(size, direction)
    img *= light[..., None] * np.float32(r.uniform(0.65, 1.2)) * r.uniform(0.9, 1.1, 3).astype(np.float32)
    img += r.normal(0, r.uniform(0, 6), img.shape).astype(np.float32)
    gray = bool(r.random() < 0.2)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if gray:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    turn = "frontal" if abs(cues["yaw"]) < 0.3 else ("left" if cues["yaw"] < 0 else "right")
    meta = dict(intensity=round(intensity, 4), glasses=int(idn["glasses"]), occluder=occluder,
                grayscale=int(gray), rotation=round(float(angle), 2), scale=round(float(scale), 3),
                head_turn=turn, side_light=int(side_light))
    return out, meta


def _render_chunk(job: tuple) -> list[dict]:
    seed, size, out_dir, rows = job
    metas = []
    for split, index, cls, pid, path in rows:
        img, meta = render(seed, split, index, cls, pid, size)
        if not cv2.imwrite(str(Path(out_dir) / path), img):
            raise OSError(f"{Path(out_dir) / path}: could not write image")
        metas.append(meta)
    return metas


def _plan(n: int, split: str, seed: int, pid_offset: int) -> pd.DataFrame:
    r = np.random.default_rng([seed, 0, 0 if split == "train" else 1])
    k = len(BASIC7)
    labels = r.permutation(np.arange(n) % k)               # balanced classes
    n_people = max(k, n // 10)                              # about ten images per person
    pids = pid_offset + r.integers(0, n_people, n)
    ids = [f"{split}_{i:05d}" for i in range(n)]
    return pd.DataFrame({"sample_id": ids, "path": [f"images/{split}/{s}.png" for s in ids],
                         "label": [BASIC7[c] for c in labels], "split": split, "pid": pids, "index": np.arange(n)})


def generate_demo(out_dir: str | Path, *, n_train: int = 3000, n_test: int = 700, image_size: int = 64,
                  noise_rate: float = 0.2, seed: int = 0, workers: int | None = None) -> Path:
    """Draw the demo dataset into out_dir (images/{train,test}/*.png, manifest with noisy train labels)."""
    if n_train < 1 or n_test < 0:
        raise ValueError(f"need n_train >= 1 and n_test >= 0, got {n_train} and {n_test}")
    if not 16 <= image_size <= 512:
        raise ValueError(f"image size must be between 16 and 512 pixels, got {image_size}")
    out = Path(out_dir)
    train = _plan(n_train, "train", seed, 0)
    test = _plan(n_test, "test", seed, int(train["pid"].max()) + 1)  # test people never seen in train
    plan = pd.concat([train, test], ignore_index=True)
    for split in ("train", "test"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
    rows = list(zip(plan["split"], plan["index"], plan["label"], plan["pid"], plan["path"]))
    workers = max(1, workers if workers is not None else min(os.cpu_count() or 1, 4))
    step = max(1, min(250, -(-len(rows) // (4 * workers))))
    chunks = [rows[i:i + step] for i in range(0, len(rows), step)]
    jobs = [(seed, image_size, str(out), ch) for ch in chunks]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            metas = [m for part in pool.map(_render_chunk, jobs) for m in part]
    else:
        metas = [m for job in jobs for m in _render_chunk(job)]
    meta = pd.DataFrame(metas)
    manifest = plan[["sample_id", "path", "label", "split"]].copy()
    pos = {c: i for i, c in enumerate(BASIC7)}
    is_train = (manifest["split"] == "train").to_numpy()
    clean = np.array([pos[c] for c in manifest["label"]])
    noisy = clean.copy()
    noisy[is_train] = inject_symmetric(clean[is_train], len(BASIC7), noise_rate, seed=seed)
    manifest["source_label"] = manifest["label"]
    manifest["true_label"] = manifest["label"]
    manifest["label"] = [BASIC7[i] for i in noisy]
    manifest["group"] = [f"p{p:05d}" for p in plan["pid"]]
    manifest = pd.concat([manifest, meta], axis=1)
    _remove_stale(out, set(manifest["path"]))
    info = DatasetInfo(classes=list(BASIC7), image_root=".", format="demo", source="procedural (data_tools.demo)",
                       extra={"generator": {"n_train": n_train, "n_test": n_test, "image_size": image_size,
                                            "seed": seed},
                              "noise": {"kind": "symmetric", "rate": noise_rate, "seed": seed,
                                        "n_train": int(is_train.sum()), "n_flipped": int((noisy != clean).sum())}})
    return write_dataset(out, manifest, info)


def _remove_stale(out: Path, keep: set[str]) -> None:
    """Drop images a previous, larger demo left behind (only in a demo folder)."""
    info = out / INFO
    if info.exists() and '"format": "demo"' not in info.read_text(encoding="utf-8"):
        return
    for split in ("train", "test"):
        for f in (out / "images" / split).glob("*.png"):
            if f"images/{split}/{f.name}" not in keep:
                f.unlink()


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Arguments of `python -m data_tools demo`."""
    p.add_argument("--out", default="datasets/demo", help="dataset folder to write (default datasets/demo)")
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--n-test", type=int, default=700)
    p.add_argument("--size", type=int, default=64, help="image side in pixels")
    p.add_argument("--noise", type=float, default=0.2, help="symmetric noise rate on the train labels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPUs, at most 4)")


def main(args: argparse.Namespace) -> int:
    """Run the demo command."""
    t0 = time.perf_counter()
    out = generate_demo(args.out, n_train=args.n_train, n_test=args.n_test, image_size=args.size,
                        noise_rate=args.noise, seed=args.seed, workers=args.workers)
    n = args.n_train + args.n_test
    dt = time.perf_counter() - t0
    print(f"{out}: {n} images at {args.size}x{args.size} in {dt:.1f} s ({n / dt:.0f} images/s), "
          f"{args.noise:.0%} symmetric noise on train")
    return 0
