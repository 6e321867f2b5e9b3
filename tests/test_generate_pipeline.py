"""What `mrff generate` does around the network to keep up with it (benchmarks/README.md, "Inference").

- allocator.keep_freed_memory: a block freed and asked for again comes back without new page faults;
- network.weights_left_uninitialised: no random initialisation of a network whose weights are loaded next,
  and torch.nn.init as before afterwards (also after an error);
- the --workers default: decoding in-line on CPU.
"""
import argparse
import subprocess
import sys
import textwrap

import pytest
import torch

from mrff_plugin.generate.network import weights_left_uninitialised

# A child process (the allocator setting stays in the process that makes it): 48 MiB allocated, filled
# and freed 10 times; prints the minor page faults the loop caused.  48 MiB is above the 32 MiB up to
# which glibc raises its mmap threshold by itself (the concatenation feeding X0,4 of a batch of four
# 256x256 images at ngf 64 is 80 MiB in fp32).
FAULTS = textwrap.dedent("""
    import ctypes, resource, sys
    from mrff_plugin.generate.allocator import keep_freed_memory
    took = keep_freed_memory() if sys.argv[1] == "keep" else None
    malloc, free = ctypes.CDLL(None).malloc, ctypes.CDLL(None).free
    malloc.restype, malloc.argtypes, free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
    size = 48 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        block = malloc(size)
        ctypes.memset(block, 1, size)   # touch every page, as an activation is written
        free(block)
    print(took, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def page_faults(mode):
    result = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    took, faults = result.stdout.split()
    return took, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_activation_memory_is_reused_without_new_page_faults():
    pages = 10 * (48 << 20) // 4096        # every page of every round, were each block mapped anew
    took, kept = page_faults("keep")
    _, default = page_faults("default")
    assert took == "True"
    assert default > pages // 2           # glibc's default: the block is mapped and unmapped each round
    assert kept < pages // 10              # kept: only the first round faults its pages in


def test_weights_left_uninitialised_skips_init_and_restores_it():
    conv = torch.nn.Conv2d(2, 2, 3)
    with weights_left_uninitialised():
        marked = torch.full((4, 4), 7.0)
        torch.nn.init.normal_(marked)
        torch.nn.init.kaiming_uniform_(marked)
        assert torch.equal(marked, torch.full((4, 4), 7.0))
    torch.nn.init.normal_(marked)
    assert not torch.equal(marked, torch.full((4, 4), 7.0))
    with pytest.raises(RuntimeError), weights_left_uninitialised():
        raise RuntimeError("a failing build")
    before = conv.weight.detach().clone()
    conv.reset_parameters()
    assert not torch.equal(conv.weight, before)


def test_workers_default_to_in_line_decoding_on_cpu(monkeypatch, tmp_path):
    """`--workers` unset: the engine decodes in-line (0) on CPU; an explicit value is passed on."""
    from mrff_plugin.commands import generate as command
    from mrff_plugin.generate import allocator, backends, engine, files

    seen = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: True)  # not in the pytest process
    monkeypatch.setattr(files, "plan_jobs", lambda *args: ([], 0, []))
    monkeypatch.setattr(backends, "open_backend", lambda *args: (argparse.Namespace(), 1))
    monkeypatch.setattr(engine, "generate", lambda backend, jobs, nc, batch, workers, *a, **k:
                        seen.append(workers) or {"written": 0, "bad": [], "seconds": 0.0})
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    for extra in ([], ["--workers", "3"]):
        args = parser.parse_args(["--checkpoint", "x", "--input", str(tmp_path), "--output", str(tmp_path / "o"),
                                  "--device", "cpu", "--quiet", "--backend", "onnxruntime", *extra])
        command.run(args)
    assert seen == [0, 3]


def test_a_negative_worker_count_is_one_argparse_sentence(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint", "x", "--input",
                           str(tmp_path), "--output", str(tmp_path / "o"), "--workers", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "argument --workers: -1 is not a number of processes (0 or more; 0 decodes in-line)" in proc.stderr
    assert not (tmp_path / "o").exists()
