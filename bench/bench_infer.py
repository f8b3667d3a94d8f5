"""Latency of the app's inference helper: Explainer.explain() per image, p50 / p95 over 100 images.

Each call decodes nothing (images are passed as arrays; --from-files reads them from disk inside
the timed call), runs the image and its mirror as one batch of two, and builds the six overlays at
the display size. Without --run, a compact-backbone checkpoint (random weights: latency does not
depend on them) is written at each --sizes input size.

    python bench/bench_infer.py                        # compact at 48 and 64 px, 2 threads
    python bench/bench_infer.py --run runs/demo        # a trained run

On a machine shared with other busy processes, 2 OpenMP threads that spin-wait for each other lose
most of their time to preemption (measured here at load ~10 on 2 cores: ~8x slower steps);
``OMP_WAIT_POLICY=PASSIVE`` (set before Python starts) removes that, so the tables were measured with it.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from data_tools.rundir import RunDir  # noqa: E402
from eac_core.checkpoint import read_checkpoint, write_checkpoint  # noqa: E402
from eac_core.infer import Explainer, read_image  # noqa: E402
from eac_core.models import build_model  # noqa: E402
from eac_core.preprocess import Preprocessing  # noqa: E402

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "ckplus48"
CLASSES = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"]


def images(n: int) -> list[Path] | list[np.ndarray]:
    files = sorted(FACES.rglob("*.png")) if FACES.is_dir() else []
    files = files[:: max(1, len(files) // n)][:n]
    if len(files) == n:
        return files
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (96, 96, 3), dtype=np.uint8) for _ in range(n)]


def write_run(d: Path, size: int) -> Path:
    torch.manual_seed(0)
    m = build_model("compact", len(CLASSES))
    write_checkpoint(RunDir(d), {"model": m.state_dict(), "arch": "compact", "classes": CLASSES,
                                 "num_classes": len(CLASSES), "image_size": size,
                                 "preprocessing": Preprocessing().to_dict(), "epoch": 0, "config": {}})
    return d


def measure(ex: Explainer, inputs, display: int, warmup: int = 5) -> tuple[float, float, float]:
    classes = ex.classes
    for i in range(warmup):
        ex.explain(inputs[i % len(inputs)], classes[i % len(classes)], display_size=display)
    ts = []
    for i, img in enumerate(inputs):
        t0 = time.perf_counter()
        ex.explain(img, classes[i % len(classes)], display_size=display)
        ts.append(time.perf_counter() - t0)
    ts = np.array(ts) * 1e3
    return float(np.percentile(ts, 50)), float(np.percentile(ts, 95)), float(ts.mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, help="a run directory (default: compact checkpoints, random weights)")
    p.add_argument("--sizes", type=int, nargs="+", default=[48, 64], help="input sizes without --run")
    p.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    p.add_argument("--display", type=int, default=192)
    p.add_argument("-n", type=int, default=100, help="images")
    p.add_argument("--from-files", action="store_true", help="pass file paths (decode inside the timing)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = p.parse_args(argv)
    src = images(a.n)
    inputs = src if a.from_files and isinstance(src[0], Path) else [
        read_image(s) if isinstance(s, Path) else s for s in src]
    kind = "files" if isinstance(src[0], Path) else "random arrays"
    print(f"Explainer.explain latency over {len(inputs)} images ({kind} from {FACES.name if kind == 'files' else '-'},"
          f" {'decoded in the call' if a.from_files else 'pre-decoded'}), display {a.display} px, device {a.device};"
          f" OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; load average {os.getloadavg()[0]:.1f}")
    print("| backbone | input px | threads | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [a.run] if a.run else []
        for s in ([] if a.run else a.sizes):
            d = Path(tmp) / f"run{s}"
            d.mkdir()
            runs.append(write_run(d, s))
        for run in runs:
            ex = Explainer.load(run, device=a.device)
            arch = read_checkpoint(run, map_location="cpu")["arch"]
            for th in a.threads:
                torch.set_num_threads(th)
                p50, p95, mean = measure(ex, inputs, a.display)
                print(f"| {arch} | {ex.image_size} | {th} | {p50:.1f} | {p95:.1f} | {mean:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
