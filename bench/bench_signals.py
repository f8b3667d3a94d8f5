"""Which signal should `suspicion` be? Every candidate of eac_core.scores.CANDIDATES scored on real AND
injected noise, side by side (issue 7 §2):

  * injected: the demo with 20 % symmetric noise (its default preset, `demo`) and CK+48 with 20 %
    symmetric noise (subject-disjoint split, the `cpu` preset), one run each with the trainer defaults, trained here
    through bench/_benchlib (finished runs are reused);
  * real: the product runs of bench/bench_real_noise.py (EAC and CE) found in --real-work, scored on
    the determined rows of fer2013_dev's ranked slice against truth.csv.
Prints AUROC / AP per signal and dataset and the mean AP rank over the columns; writes
bench/results/<name>.md.

  python bench/bench_signals.py --real-work .cache/bench/rn3k
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import DEFAULT_WORK, injected_default_runs, log, write_result  # noqa: E402
from bench_real_noise import truth_mask  # noqa: E402
from eac_core.metrics import noise_mask, signal_table  # noqa: E402
from data_tools.rundir import RunDir  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real-work", type=Path, default=None, help="bench_real_noise.py's --work folder")
    ap.add_argument("--real-runs", default="product_eac,product_ce", help="its product run folders to score")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list: demo,ckplus")
    ap.add_argument("--name", default="signals")
    a = ap.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    tables: dict[str, pd.DataFrame] = {}
    for name, out in injected_default_runs(a.work, skip, a.threads):
        s = RunDir(out).read_scores()
        tables[name] = signal_table(s, noise_mask(s))
    if a.real_work is not None:
        for name in filter(None, a.real_runs.split(",")):
            out = a.real_work / name
            if not RunDir(out).is_finished():
                log(f"{out}: not finished, left out")
                continue
            s = RunDir(out).read_scores()
            frame = pd.read_csv(a.real_work / "dataset" / "manifest.csv", dtype=str, keep_default_na=False)
            frame = frame[frame["split"] == "train"].reset_index(drop=True)
            pos, noisy_mask = truth_mask(frame)
            cfg = RunDir(out).read_config()
            tables[f"fer2013_dev real ({cfg['mode'].upper()}, erase p {cfg['erase_p']})"] = \
                signal_table(s.iloc[pos].reset_index(drop=True), noisy_mask)
    if not tables:
        log("nothing to score")
        return 1
    wide = pd.concat({k: t.set_index("signal")[["auroc", "ap"]] for k, t in tables.items()}, axis=1)
    wide.columns = [f"{d}: {m}" for d, m in wide.columns]
    ap_cols = [c for c in wide.columns if c.endswith(": ap")]
    wide["mean AP rank"] = wide[ap_cols].rank(ascending=False).mean(axis=1)
    wide = wide.sort_values("mean AP rank")
    text = ("# Every signal on real and injected noise\n\n"
            f"`python bench/bench_signals.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
            + wide.to_markdown(floatfmt=".3f") + "\n")
    write_result(a.name, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
