"""The multi-process bits: process group setup from torchrun's environment, flag agreement, and
gathering per-sample signals by sample index onto rank 0 (each sample exactly once)."""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    """Rank, world size and the device this process uses."""
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group torchrun describes (WORLD_SIZE > 1): nccl on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    return DistInfo(rank, world, local)


def shutdown(info: DistInfo) -> None:
    """Leave the process group, if any."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def reduce_max(info: DistInfo, *values: float, device: torch.device | None = None) -> list[float]:
    """Element-wise maximum of numbers over all ranks (identity in one process)."""
    if not info.enabled:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], device=device or torch.device("cpu"))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def any_flag(info: DistInfo, *flags: bool, device: torch.device | None = None) -> list[bool]:
    """Element-wise OR of boolean flags over all ranks (identity in one process)."""
    return [v > 0 for v in reduce_max(info, *flags, device=device)]


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def gather_by_index(info: DistInfo, n: int, index: np.ndarray, arrays: dict[str, np.ndarray]
                    ) -> dict[str, np.ndarray] | None:
    """Scatter every rank's per-sample rows into full (n, ...) arrays on rank 0 by sample index.
    Padded duplicates (DistributedSampler-style wrap-around) land on the same slot, so every sample
    counts exactly once; rows never seen stay NaN. Returns None on ranks other than 0."""
    parts = [(index, arrays)]
    if info.enabled:
        gathered: list = [None] * info.world if info.is_main else None
        dist.gather_object((index, arrays), gathered, dst=0)
        if not info.is_main:
            return None
        parts = gathered
    out: dict[str, np.ndarray] = {}
    for idx, arrs in parts:
        idx = np.asarray(idx)
        for k, a in arrs.items():
            a = np.asarray(a)
            if k not in out:
                out[k] = np.full((n,) + a.shape[1:], np.nan, dtype=np.float32)
            # keep the first occurrence of a duplicated index
            _, first = np.unique(idx, return_index=True)
            out[k][idx[first]] = a[first]
    return out


def ddp(model: torch.nn.Module, info: DistInfo, device: torch.device) -> torch.nn.Module:
    """The model wrapped in DistributedDataParallel under torchrun (itself otherwise)."""
    if not info.enabled:
        return model
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[info.local_rank] if device.type == "cuda" else None)
