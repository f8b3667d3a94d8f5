"""Training and scoring with Erasing Attention Consistency (EAC). Reads a manifest, writes a run directory."""
import os

# OpenMP threads that spin while waiting make a 2-thread CPU step several times slower as soon as any
# other process shares the cores (the app beside its training subprocess, two runs at once): measured
# 2637 ms -> 325 ms per compact CE step under load. Must be set before torch loads its OpenMP runtime;
# a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
