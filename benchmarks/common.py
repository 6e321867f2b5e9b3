"""What every benchmark shares: the folders, atomic JSON, the machine record, starting a child module.

* Folders: ROOT (the repository), RESULTS (committed measurements), OUT (scratch, ignored by git),
  PROTOCOLS (study protocols, fixed before their runs), HOST_DIR (the bundled host) and the shared
  data folders beside the repository (ROADSCENE).
* commit_of(path): the commit that last changed a file (a protocol's, in its study's results).
* write_json(path, report): the one writer of result files -- a temporary file beside the target,
  flushed to disk (fsync), then renamed over it, so a killed run never leaves half a file.
* machine(): the one record of where a figure was measured -- CPU model and the flags that decide
  bf16 speed (avx2, avx512f, avx512_bf16, amx_bf16), cores, torch threads, torch version, GPU.
* cpu_tag(flags), result_tag(): how result file names give the CPU (and torch and the date).
* child(name, *args): the command line of `python -m benchmarks.<name> args`, and package_env(),
  the environment that lets such a child import the package from any working folder.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
OUT = BENCHMARKS / "out"
PROTOCOLS = BENCHMARKS / "protocols"
HOST_DIR = ROOT / "third_party" / "pix2pix_toolkit"
SHARED_DATA = ROOT.parent / "shared" / "data"     # real data sets, used in place (never copied in)
ROADSCENE = SHARED_DATA / "roadscene"

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")   # what decides fp32 / bf16 speed on a CPU


def write_json(path, report, indent=1):
    """`report` as JSON at `path` through a temporary file, fsync and a rename; returns `report`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(report, indent=indent, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return report


def commit_of(path):
    """The commit that last changed `path` (relative to ROOT), or None outside a git checkout: a study's results
    name the commit that fixed its protocol."""
    try:
        return subprocess.run(["git", "log", "-1", "--format=%H", "--", str(path)], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_info():
    """(CPU model name, set of /proc/cpuinfo flags); ('', set()) where there is no /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return "", set()

    def field(name):
        return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "")
    return field("model name"), set(field("flags").split())


def machine():
    """Where a figure was measured: CPU model, its bf16-relevant flags, cores, torch threads and version, GPU."""
    import torch
    model, flags = cpu_info()
    return {"cpu": model, **{flag: flag in flags for flag in CPU_FLAGS}, "cores": os.cpu_count(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def cpu_tag(flags):
    """The CPU's best matrix instructions, as the result files name them (benchmarks/results/MANIFEST.md)."""
    return "amx" if "amx_bf16" in flags else "avx512bf16" if "avx512_bf16" in flags else \
        "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "cpu"


def result_tag():
    """'<cpu>-pt<torch>-<date>', the end of a result file's name (benchmarks/results/MANIFEST.md)."""
    import time

    import torch
    return f"{cpu_tag(cpu_info()[1])}-pt{torch.__version__.split('+')[0].replace('.', '')}-{time.strftime('%Y%m%d')}"


def write_result(prefix, shape, report, quick=False):
    """`report` as results/<prefix>-<shape>-<cpu>-pt<torch>-<date>.json, or, for a `--quick` run (the machinery
    only, never a result), as benchmarks/out/<prefix>-quick-<shape>-...json; prints and returns the path."""
    path = (OUT if quick else RESULTS) / f"{prefix}{'-quick' if quick else ''}-{shape}-{result_tag()}.json"
    write_json(path, report)
    print(f"wrote {path}")
    return path


def child(name, *args):
    """The command line that runs the benchmark module `name` with `args` in a fresh interpreter."""
    return [sys.executable, "-m", f"benchmarks.{name}", *map(str, args)]


def package_env(env=None):
    """`env` (default: this process's) with the repository first on PYTHONPATH, so `child` runs from any folder."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env
