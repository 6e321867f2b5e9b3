"""A study run's state in the middle of training, on disk, so that a run outlives the process that began it.

A 10 G model's run takes hours on one CPU core, longer than a working session; a process stopped half-way would
lose it.  `RunState(path, identity)` is saved after each learning-curve point (`save`) and read back by the next
process that takes the run (`load`): the generator, the discriminator, both optimizers and schedulers, torch's
random state (dropout), the data stream's random state and its place in the current pass, the curve so far and
the seconds spent.  A run resumed from it takes the same steps on the same crops with the same dropout masks as
one that never stopped, so its record is the same (tests/test_quality_v3.py checks that, bit for bit).

`identity` is what must not change between the two processes: the model's options, the study's settings and the
sha256 of the code that trains (`training_code`).  A state saved under another identity is not resumed: the run
starts again from iteration 0, and the process says so in one line.  The file is written atomically
(`mrff_plugin.durable.atomic_write`); the study driver removes it once the run's record is written.
"""
import functools
import hashlib
import time
from pathlib import Path

import torch

from benchmarks.common import ROOT
from benchmarks.quality.run_files import run_stem

# the files whose code decides a run's training steps: the networks, the host's pieces, the step, the stream
TRAINING_CODE = ("mrff_plugin", "third_party/pix2pix_toolkit/models", "benchmarks/pix2pix_step.py",
                 "benchmarks/quality/data.py", "benchmarks/quality/train.py")


def resume_path(weights_dir, label, seed):
    """Where a run's state is kept while it trains: beside the weights it will leave."""
    return Path(weights_dir) / f"{run_stem(label, seed)}.resume.pth"


@functools.cache
def training_code():
    """sha256 over the Python files of TRAINING_CODE, in path order, as they were at this process's first call (its
    first run): the code it imported, not files changed on disk since, which only a new process would run."""
    digest = hashlib.sha256()
    for entry in TRAINING_CODE:
        path = ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


class RunState:
    """save(it, step, stream, curve, train_seconds) after a curve point; load(step, stream) -> (iteration, curve,
    train_seconds) or None; seconds(): the run's seconds over every process that trained it."""

    def __init__(self, path, identity):
        self.path, self.identity = Path(path), identity
        self.started = time.perf_counter()
        self.earlier_seconds = 0.0     # the seconds of the processes before this one
        self.resumed_at = []           # the iterations this run was resumed at

    def save(self, it, step, stream, curve, train_seconds):
        from mrff_plugin.durable import atomic_write
        state = {"identity": self.identity, "iteration": it, "curve": curve, "train_seconds": train_seconds,
                 "seconds": self.earlier_seconds + time.perf_counter() - self.started,
                 "resumed_at": self.resumed_at,
                 "G": step.G.state_dict(), "D": step.D.state_dict(),
                 "opt_G": step.opt_G.state_dict(), "opt_D": step.opt_D.state_dict(),
                 "schedulers": [s.state_dict() for s in step.schedulers],
                 "torch_rng": torch.get_rng_state(),
                 "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
                 "stream": {"rng": stream.rng.bit_generator.state, "order": [int(i) for i in stream.order]}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path) as handle:
            torch.save(state, handle)

    def load(self, step, stream):
        if not self.path.is_file():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        if state["identity"] != self.identity:
            print(f"  {self.path.name}: saved by other code or settings; the run starts again", flush=True)
            return None
        step.G.load_state_dict(state["G"])
        step.D.load_state_dict(state["D"])
        step.opt_G.load_state_dict(state["opt_G"])
        step.opt_D.load_state_dict(state["opt_D"])
        for scheduler, saved in zip(step.schedulers, state["schedulers"]):
            scheduler.load_state_dict(saved)
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        stream.rng.bit_generator.state = state["stream"]["rng"]
        stream.order = list(state["stream"]["order"])
        self.earlier_seconds = state["seconds"]
        self.resumed_at = state["resumed_at"] + [state["iteration"]]
        print(f"  resumed at iteration {state['iteration']} ({self.path.name})", flush=True)
        return state["iteration"], state["curve"], state["train_seconds"]

    def seconds(self):
        """The run's seconds so far, over every process that worked on it."""
        return self.earlier_seconds + time.perf_counter() - self.started
