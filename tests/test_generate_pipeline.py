"""What `mrff generate` does around the network to keep up with it (benchmarks/README.md, "Inference").

- allocator.keep_freed_memory: a block freed and asked for again comes back without new page faults;
- network.build_generator(initialise=False): no random initialisation of a network whose weights are loaded next
  (host generators too), torch.nn.init untouched;
- the --workers default: decoding in the main process on CPU;
- on CPU, decoding and encoding between forward passes (in threads), never beside them;
- the `mrff` executable leaves a successful generate without the interpreter's teardown.
"""
import argparse
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import torch

from mrff_plugin.generate.network import attach_host, build_generator

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


@pytest.mark.parametrize("netG", ["unetpp_fusion", "unet_128"])
def test_a_generator_built_for_its_checkpoint_draws_no_weights_and_takes_the_checkpoint(netG):
    networks, _ = attach_host()
    options = dict(netG=netG, norm="batch", ngf=4, input_nc=3, output_nc=1, no_dropout=True)
    initialised = build_generator(networks, options).eval()
    init = dict(vars(torch.nn.init))
    torch.manual_seed(0)
    expected_draw = torch.rand(3)
    torch.manual_seed(0)
    empty = build_generator(networks, options, initialise=False)
    assert torch.equal(torch.rand(3), expected_draw)          # nothing drawn: neither PyTorch's nor the host's init
    assert dict(vars(torch.nn.init)) == init                   # and torch.nn.init is not patched for it
    empty.load_state_dict(initialised.state_dict())
    x = torch.randn(1, 3, 128, 128)
    torch.testing.assert_close(empty.eval()(x), initialised(x), rtol=0, atol=0)


def test_workers_default_to_in_line_decoding_on_cpu(monkeypatch, tmp_path):
    """`--workers` unset: the engine decodes in this process (0) on CPU; an explicit value is passed on."""
    from mrff_plugin.commands import generate as command
    from mrff_plugin.generate import allocator, backends, engine, files

    seen = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: True)  # not in the pytest process
    monkeypatch.setattr(files, "plan_jobs", lambda *args: ([], 0, []))
    monkeypatch.setattr(backends, "open_backend", lambda *args, **kwargs: (argparse.Namespace(), 1))
    monkeypatch.setattr(engine, "generate", lambda backend, jobs, options, **k:
                        seen.append(options.workers) or {"written": 0, "bad": [], "seconds": 0.0})
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    model = tmp_path / "model.onnx"
    model.write_bytes(b"a stand-in: open_backend is replaced above")   # the run's record hashes it
    for extra in ([], ["--workers", "3"]):
        args = parser.parse_args(["--model", str(model), "--input", str(tmp_path), "--output", str(tmp_path / "o"),
                                  "--device", "cpu", "--quiet", "--backend", "onnxruntime", *extra])
        command.run(args)
    assert seen == [0, 3]


def test_a_negative_worker_count_is_one_argparse_sentence(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint", "x", "--input",
                           str(tmp_path), "--output", str(tmp_path / "o"), "--workers", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "argument --workers: -1 is not a number of processes (0 or more; 0 decodes in this process)" in proc.stderr
    assert not (tmp_path / "o").exists()


class SlowBackend:
    """A stand-in network: grey mean of its input after `seconds` of sleep (as a forward pass holds the cores,
    without holding the GIL); records when each call ran."""
    device, input_nc, multiple, cost = torch.device("cpu"), 3, 1, None

    def __init__(self, seconds, log):
        self.seconds, self.log = seconds, log

    def __call__(self, x):
        start = time.perf_counter()
        time.sleep(self.seconds)
        self.log.append(("forward", start, time.perf_counter(), threading.get_ident()))
        return x.mean(1, keepdim=True)


def run_recorded(monkeypatch, tmp_path, workers, name):
    """engine.generate over 12 small images with SlowBackend, batch 4; (PNG arrays, [(kind, start, end, thread)])."""
    from PIL import Image

    from mrff_plugin.generate import engine, files
    from mrff_plugin.generate.options import GenerateOptions
    source = tmp_path / "in"
    if not source.is_dir():
        source.mkdir()
        rng = np.random.default_rng(0)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)).save(source / f"{i:02d}.png")
    log = []

    def recorded(kind, function, seconds=0.0):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            time.sleep(seconds)   # a PNG of a real size takes milliseconds
            result = function(*args, **kwargs)
            log.append((kind, start, time.perf_counter(), threading.get_ident()))
            return result
        return wrapper

    monkeypatch.setattr(engine, "load_image", recorded("decode", engine.load_image))
    monkeypatch.setattr(engine, "write_png", recorded("encode", files.write_png, 0.01))
    jobs = files.plan_jobs(str(source), str(tmp_path / name))[0]
    result = engine.generate(SlowBackend(0.05, log), jobs, GenerateOptions(1, batch_size=4, workers=workers))
    assert result["written"] == 12
    pngs = {p.name: np.asarray(Image.open(p)) for p in sorted((tmp_path / name).glob("*.png"))}
    return pngs, log


def overlaps(log, kind):
    forwards = [(start, end) for k, start, end, _ in log if k == "forward"]
    return sum(1 for k, start, end, _ in log if k == kind
               for f_start, f_end in forwards if start < f_end and f_start < end)


def test_on_cpu_decoding_and_encoding_run_between_forward_passes_in_threads(monkeypatch, tmp_path):
    """--workers 0 (CPU): no image is decoded or encoded while the network runs, and that work is spread over
    as many threads as torch uses; --workers 1 (GPU) encodes while the network runs; both write the same PNGs."""
    import concurrent.futures
    pools, pool_class = [], concurrent.futures.ThreadPoolExecutor
    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor",
                        lambda max_workers: pools.append(max_workers) or pool_class(max_workers))
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        phased, log = run_recorded(monkeypatch, tmp_path, 0, "threads")
    finally:
        torch.set_num_threads(threads)
    assert len([entry for entry in log if entry[0] == "forward"]) == 3
    assert overlaps(log, "decode") == 0 and overlaps(log, "encode") == 0
    assert threading.get_ident() not in {thread for kind, *_, thread in log if kind in ("decode", "encode")}
    assert pools == [3]                       # one thread per torch thread
    overlapped, log = run_recorded(monkeypatch, tmp_path, 1, "workers")
    assert overlaps(log, "encode") > 0        # the check above can fail: here encoding meets the network
    assert phased.keys() == overlapped.keys() and len(phased) == 12
    assert all(np.array_equal(phased[name], overlapped[name]) for name in phased)


# A child process: `mrff generate` through the executable's entry point (cli.console), with the command's
# work replaced by one printed line and the exit code given; an atexit handler stands for the teardown.
CONSOLE = textwrap.dedent("""
    import atexit, sys
    from mrff_plugin import cli
    from mrff_plugin.commands import generate
    code = int(sys.argv[1])
    generate.main = lambda args: print("generated", end="") or code   # unflushed when it returns
    atexit.register(lambda: print(" teardown"))
    sys.argv = ["mrff", "generate", "--input", "in", "--output", "out"]
    sys.exit(cli.console())
""")


@pytest.mark.parametrize("code", [0, 2])
def test_the_executable_skips_the_teardown_after_a_successful_generate(code):
    """cli.console: after a successful `mrff generate`, os._exit once stdout is flushed (no teardown: the
    atexit handler does not run); after a failed one, the normal exit with its code."""
    result = subprocess.run([sys.executable, "-c", CONSOLE, str(code)], capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stderr
    assert result.stdout == ("generated" if code == 0 else "generated teardown\n")
