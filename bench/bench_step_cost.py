"""Benchmark 1 of issue 3: cost of one EAC training step / one plain cross-entropy step.

Same backbone, batch, optimiser (Adam) and augmentation in one process; CE and EAC steps are
interleaved (alternating which goes first) so load changes on the machine hit both alike. The step
is built from the trainer's own pieces (eac_core.data.make_views: noise + random erasing, erase-then-
flip second view; eac_core.engine.eac_loss: CE on view 1, lambda * L_att with the classifier weight
detached), with both EAC views through the network as ONE concatenated batch, as
eac_core.engine.train_one_epoch does.

    python bench/bench_step_cost.py                       # CPU, 2 threads, the issue's table
    python bench/bench_step_cost.py --device cuda --configs resnet18:112:32 resnet50:224:32

On a machine shared with other busy processes, 2 OpenMP threads that spin-wait for each other lose
most of their time to preemption (measured here at load ~10 on 2 cores: ~8x slower steps);
``OMP_WAIT_POLICY=PASSIVE`` (set before Python starts) removes that, so the tables were measured with it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from eac_core.data import AugmentSpec, epoch_generator, make_views  # noqa: E402
from eac_core.engine import eac_loss  # noqa: E402
from eac_core.models import build_model  # noqa: E402
from eac_core.preprocess import Preprocessing  # noqa: E402

try:
    from eac_core.config import PRESET_VALUES
    CPU_BATCH = int(PRESET_VALUES["cpu"]["batch_size"])
except Exception:  # pragma: no cover - config layout changed
    CPU_BATCH = 64

DEFAULT_CONFIGS = ["resnet18:64:32", "resnet18:112:32", f"compact:48:{CPU_BATCH}", f"compact:64:{CPU_BATCH}"]


def make_step(model, opt, mode: str, device: torch.device, amp: bool, channels_last: bool, lam: float = 5.0):
    spec, aug, two = Preprocessing(), AugmentSpec(), mode == "eac"

    def step(xb: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> float:
        v1, v2, _ = make_views(xb, spec, aug, gen, device, two, channels_last)
        n = v1.shape[0]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            logits, feats = model(torch.cat([v1, v2]) if two else v1)
        out = eac_loss(logits[:n], feats[:n], feats[n:] if two else None, model.fc.weight, y, lam)
        opt.zero_grad(set_to_none=True)
        out.total.backward()
        opt.step()
        return float(out.total.detach())          # a sync point, as the trainer's finiteness check

    return step


def bench(arch: str, size: int, batch: int, device: torch.device, reps: int, warmup: int) -> dict:
    amp = channels_last = device.type == "cuda"
    torch.manual_seed(0)
    base = build_model(arch, 7)
    steps = {}
    for mode in ("ce", "eac"):
        m = build_model(arch, 7)
        m.load_state_dict(base.state_dict())
        m = m.to(device).train()
        if channels_last:
            m = m.to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(m.parameters(), lr=1e-4, weight_decay=1e-4)
        steps[mode] = make_step(m, opt, mode, device, amp, channels_last)
    g = torch.Generator().manual_seed(0)
    xb = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 7, (batch,), generator=g).to(device)
    if device.type == "cuda":
        xb = xb.pin_memory()
    times = {"ce": [], "eac": []}
    cpu = {"ce": [], "eac": []}
    for r in range(warmup + reps):
        order = ("ce", "eac") if r % 2 == 0 else ("eac", "ce")
        for mode in order:
            gen = epoch_generator(0, 0, stream=r)
            c0, t0 = time.process_time(), time.perf_counter()
            steps[mode](xb, y, gen)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if r >= warmup:
                times[mode].append(time.perf_counter() - t0)
                cpu[mode].append(time.process_time() - c0)
    ce, eac = statistics.median(times["ce"]), statistics.median(times["eac"])
    return dict(arch=arch, size=size, batch=batch, ce_ms=ce * 1e3, eac_ms=eac * 1e3, ratio=eac / ce,
                ratio_min=min(times["eac"]) / min(times["ce"]),
                ratio_cpu=statistics.median(cpu["eac"]) / statistics.median(cpu["ce"]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--reps", type=int, default=8, help="timed repetitions per mode")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS, metavar="ARCH:PX:BATCH")
    a = p.parse_args(argv)
    if a.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA device is available", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    where = torch.cuda.get_device_name(0) if a.device == "cuda" else f"CPU, {a.threads} threads"
    print(f"EAC step / CE step ({where}; torch {torch.__version__}; {a.reps} interleaved reps after {a.warmup}"
          f" warm-up; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')};"
          f" load average {os.getloadavg()[0]:.1f}). Step = augmentation + forward + loss + backward +"
          " Adam; CPU time counts all threads (includes spin-waits when the machine is oversubscribed).")
    print("| backbone | input px | batch | CE step ms | EAC step ms | EAC / CE (median wall) | (min wall) | (CPU time) |")
    print("|---|---|---|---|---|---|---|---|")
    for spec in a.configs:
        arch, size, batch = spec.split(":")
        r = bench(arch, int(size), int(batch), device, a.reps, a.warmup)
        print(f"| {r['arch']} | {r['size']} | {r['batch']} | {r['ce_ms']:.1f} | {r['eac_ms']:.1f} | "
              f"**{r['ratio']:.2f}** | {r['ratio_min']:.2f} | {r['ratio_cpu']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
