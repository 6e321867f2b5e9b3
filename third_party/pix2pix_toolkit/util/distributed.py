"""Multi-process training under `torchrun`: process group, rank and world size.

`torchrun` starts one process per device and sets WORLD_SIZE, RANK and LOCAL_RANK.
A process group is created only when WORLD_SIZE > 1, with the gloo backend on CPU
and NCCL on GPU.  Everything else asks `get_rank()` / `is_main_process()`, which
also answer before the group exists (from the environment), so options can be
written by rank 0 only while they are parsed.
"""
import os

import torch
import torch.distributed as dist


def world_size_from_env():
    """Number of processes torchrun started (1 when run as a plain script)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank_from_env():
    """Index of this process on its machine (0 when run as a plain script)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_distributed():
    """True when a process group exists (only then is a DistributedSampler used)."""
    return dist.is_available() and dist.is_initialized()


def get_rank():
    """Global rank of this process: from the process group, else from $RANK, else 0."""
    if is_distributed():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def get_world_size():
    """Number of processes taking part in training."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process():
    """Rank 0 alone writes logs, checkpoints, HTML pages and talks to Visdom."""
    return get_rank() == 0


def init_from_env(gpu_ids):
    """Create the process group when torchrun started more than one process.

    gpu_ids: the devices of this process after option parsing ([] on CPU);
    they choose the backend: NCCL for CUDA, gloo for CPU.
    """
    if world_size_from_env() <= 1 or is_distributed():
        return
    backend = "nccl" if gpu_ids else "gloo"
    dist.init_process_group(backend=backend)


def any_rank(flag):
    """True on every process when `flag` is true on any of them (one all_reduce; `flag` itself without a group)."""
    if not is_distributed():
        return bool(flag)
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def shutdown():
    """Destroy the process group if there is one (end of training)."""
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()
