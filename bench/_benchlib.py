"""Shared helpers of bench_detection.py / bench_robustness.py / bench_logging_cost.py: preparing the
benchmark datasets, running trainer jobs in a small process pool (resumable: a finished run directory
is reused), and formatting mean ± sd."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from data_tools.rundir import RunDir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = ROOT / ".cache" / "bench"
RESULTS = Path(__file__).resolve().parent / "results"
CKPLUS = ROOT.parent / "shared" / "data" / "ckplus48"


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def sh(cmd: list[str]) -> None:
    log("$ " + shlex.join(cmd))
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def demo_clean(work: Path, n_train: int | None = None, n_test: int | None = None) -> Path:
    """The default synthetic demo without noise (generated once)."""
    tag = "" if n_train is None else f"_{n_train}"
    out = work / f"demo_clean{tag}"
    if not (out / "dataset.json").is_file():
        cmd = [sys.executable, "-m", "data_tools", "demo", "--out", str(out), "--noise", "0.0", "--workers", "2"]
        if n_train:
            cmd += ["--n-train", str(n_train)]
        if n_test:
            cmd += ["--n-test", str(n_test)]
        sh(cmd)
    return out


def ckplus(work: Path, root: Path = CKPLUS) -> Path:
    """CK+48 imported with a subject-disjoint 80/20 split (subject = the S### prefix)."""
    out = work / "ckplus48"
    if not (out / "dataset.json").is_file():
        sh([sys.executable, "-m", "data_tools", "import", "--format", "folders", "--root", str(root), "--out", str(out),
            "--group-regex", r"^(S\d+)_", "--test-fraction", "0.2", "--seed", "0"])
    return out


def noisy(clean: Path, rate: float, seed: int) -> Path:
    """`clean` with symmetric noise `rate` on the train labels (noise seed = `seed`); rate 0 -> clean."""
    if rate <= 0:
        return clean
    out = clean.parent / f"{clean.name.replace('_clean', '')}_n{round(rate * 100)}_s{seed}"
    if not (out / "dataset.json").is_file():
        sh([sys.executable, "-m", "data_tools", "noise", "--dataset", str(clean), "--rate", str(rate),
            "--kind", "symmetric", "--seed", str(seed), "--out", str(out)])
    return out


def injected_default_runs(work: Path, skip: set[str], threads: int) -> list[tuple[str, Path]]:
    """(name, run folder) of the injected-noise runs that choose and check the ranking: the demo and CK+48
    with 20 % symmetric noise, each trained once with the trainer defaults (reused when finished)."""
    sets = []
    if "demo" not in skip:
        sets.append(("demo 20 % (demo preset: EAC)", noisy(demo_clean(work), 0.2, 0)))
    if "ckplus" not in skip and CKPLUS.is_dir():
        sets.append(("CK+48 20 % (cpu preset: CE)", noisy(ckplus(work), 0.2, 0)))
    runs = []
    for name, ds in sets:
        out = work / "runs" / f"signals_{ds.name}_default"
        train_job(ds, out, [], device="cpu", threads=threads)
        runs.append((name, out))
    return runs


def finished(run: Path) -> bool:
    t = run / "bench_timing.json"
    return t.is_file() and json.loads(t.read_text()).get("rc") == 0 and RunDir(run).scores_path.is_file()


def train_job(dataset: Path, out: Path, args: list[str], *, device: str, threads: int) -> dict:
    """One trainer run through bench/_train_timed.py; returns its timing (CPU from wait4 rusage too)."""
    if finished(out):
        return json.loads((out / "bench_timing.json").read_text())
    if out.exists():                       # an unfinished earlier attempt: start over
        import shutil
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cache = dataset.parent / "cache" / dataset.name
    cmd = [sys.executable, str(Path(__file__).with_name("_train_timed.py")), "--dataset", str(dataset),
           "--out", str(out), "--device", device, "--cache-dir", str(cache), *args]
    if device == "cpu":
        cmd += ["--threads", str(threads)]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT)}
    log("start " + shlex.join(cmd[2:]))
    with open(str(out) + ".stderr.log", "w") as err:
        p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0 or not finished(out):
        raise RuntimeError(f"training failed (rc {p.returncode}): see {out}.stderr.log")
    timing = json.loads((out / "bench_timing.json").read_text())
    timing["rusage_cpu_s"] = ru.ru_utime + ru.ru_stime
    (out / "bench_timing.json").write_text(json.dumps(timing, indent=1))
    log(f"done  {out.name}: {timing['wall_s']:.0f}s wall, {timing['rusage_cpu_s']:.0f}s CPU")
    return timing


def run_pool(jobs: list[tuple], n: int, *, device: str, threads: int) -> dict:
    """Run (key, dataset, out, args) jobs n at a time, in list order; returns key -> timing (failures
    are logged and left out, so a table can still be made from what finished)."""
    res = {}
    with ThreadPoolExecutor(max_workers=max(1, n)) as ex:
        fut = {ex.submit(train_job, d, o, a, device=device, threads=threads): k for k, d, o, a in jobs}
        for f in as_completed(fut):
            try:
                res[fut[f]] = f.result()
            except Exception as e:  # noqa: BLE001
                log(f"FAILED {fut[f]}: {e}")
    return res


def mean_sd(values, scale: float = 1.0, digits: int = 3) -> str:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float) * scale
    if len(v) == 0:
        return "–"
    if len(v) == 1:
        return f"{v[0]:.{digits}f} (n=1)"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def write_result(name: str, text: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    print(text)
    return path
