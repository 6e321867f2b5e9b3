"""On a CUDA device: the bundled (unmodified) host's train.py/test.py with --gpu_ids 0, --amp bf16, the four
attention maps through DataParallel, `mrff generate` on CUDA against CPU, tiling within the GPU's free memory,
torchrun with NCCL, and `mrff export` of a CUDA-trained checkpoint.

Every test is marked `cuda` and skips itself where torch sees no CUDA device; `python benchmarks/gpu_check.py`
runs them (`pytest -m cuda tests/test_cuda.py`) on the lent GPU machine.  Tiny settings (ngf 8, a few
iterations): the whole set takes a minute or two there, most of it in starting processes.
"""
import json
import re
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import HOST_DIR, host_env, run_host, write_aligned_set
from test_host_distributed import torchrun
from tiny_generator import grey, mrff, write_images

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA device (torch.cuda.is_available() is False)")]

ATTENTION = ("attention_1", "attention_2", "attention_3", "attention_4")
BRANCHES = ("f1", "f2", "f3", "f4")
TINY = ["--ngf", "8", "--ndf", "8", "--gpu_ids", "0", "--num_threads", "0"]
TRAIN = ["--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0", "--print_freq", "1"]
GENERATORS = {"unetpp_fusion paper": ["--netG", "unetpp_fusion", "--mrff_arch", "paper"],
              "unetpp_fusion released": ["--netG", "unetpp_fusion", "--mrff_arch", "released"],
              "unet_256": ["--netG", "unet_256"]}

# Runs a host script (train.py, test.py) unchanged in this process, then prints the CUDA memory it used at
# its peak: nothing on the GPU would leave 0.
ON_GPU = textwrap.dedent("""
    import os, runpy, sys
    import torch
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        print(f"CUDA_PEAK_BYTES {torch.cuda.max_memory_allocated()}", flush=True)
""")


def on_gpu(*args, timeout=300):
    """(CompletedProcess, peak CUDA bytes) of a host script run through ON_GPU in the host folder."""
    result = run_host("-c", ON_GPU, *args, timeout=timeout)
    peak = re.search(r"CUDA_PEAK_BYTES (\d+)", result.stdout)
    return result, int(peak.group(1)) if peak else 0


def finite_losses(run):
    """The loss rows of a run's loss_log.txt, asserted finite."""
    from mrff_plugin.training.visuals import read_loss_log
    rows = read_loss_log(str(run / "loss_log.txt"))
    assert rows and all(np.isfinite(list(row.values())).all() for row in rows), rows
    return rows


@pytest.fixture(scope="module")
def dataroot(tmp_path_factory):
    """Two 256x256 A|B training pairs and two test pairs (unet_256 needs 256x256)."""
    root = tmp_path_factory.mktemp("cuda_data")
    write_aligned_set(root, "train", count=2, size=256, seed=0)
    write_aligned_set(root, "test", count=2, size=256, seed=1)
    return root


@pytest.fixture(scope="module")
def trained(dataroot, tmp_path_factory):
    """label -> (train result, peak CUDA bytes, checkpoints folder), trained on first use."""
    runs = {}

    def train(label):
        if label not in runs:
            checkpoints = tmp_path_factory.mktemp("cuda_checkpoints")
            runs[label] = (*on_gpu("train.py", "--dataroot", dataroot, "--name", "run", "--checkpoints_dir",
                                   checkpoints, "--model", "pix2pix", *GENERATORS[label], *TINY, *TRAIN,
                                   "--load_size", "256", "--crop_size", "256"), checkpoints)
        return runs[label]
    return train


@pytest.mark.parametrize("label", GENERATORS)
def test_host_trains_and_tests_on_the_gpu(label, trained, dataroot, tmp_path):
    result, peak, checkpoints = trained(label)
    assert result.returncode == 0, result.stderr[-3000:]
    assert peak > 1e6, "train.py --gpu_ids 0 put nothing on the GPU"
    run = checkpoints / "run"
    assert len(finite_losses(run)) == 2      # 2 pairs, batch 1, --print_freq 1
    weights = torch.load(run / "latest_net_G.pth", map_location="cpu", weights_only=True)
    assert weights and all(torch.isfinite(w.float()).all() for w in weights.values())
    test, test_peak = on_gpu("test.py", "--dataroot", dataroot, "--name", "run", "--checkpoints_dir", checkpoints,
                             "--results_dir", tmp_path, "--model", "pix2pix", *GENERATORS[label], *TINY,
                             "--load_size", "256", "--crop_size", "256", "--eval")
    assert test.returncode == 0, test.stderr[-3000:]
    assert test_peak > 0
    fakes = sorted((tmp_path / "run" / "test_latest" / "images").glob("*_fake_B.png"))
    assert len(fakes) == 2
    for fake in fakes:
        with Image.open(fake) as image:
            assert image.size == (256, 256)


def test_bf16_training_on_the_gpu_keeps_float32_checkpoints_and_shows_the_maps(dataroot, tmp_path):
    result, peak = on_gpu("train.py", "--dataroot", dataroot, "--name", "bf16", "--checkpoints_dir", tmp_path,
                          "--model", "mrff_pix2pix", "--dataset_mode", "aligned", "--amp", "bf16", *TINY, *TRAIN,
                          "--load_size", "128", "--crop_size", "128", "--display_freq", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert peak > 1e6
    run = tmp_path / "bf16"
    assert len(finite_losses(run)) == 2
    # autocast computes in bf16 but the weights, and so the checkpoints, stay float32 (precision.py)
    for name in ("G", "D"):
        weights = torch.load(run / f"latest_net_{name}.pth", map_location="cpu", weights_only=True)
        assert {w.dtype for w in weights.values() if w.is_floating_point()} == {torch.float32}, name
    for name in ATTENTION + BRANCHES:
        with Image.open(run / "web" / "images" / f"epoch001_{name}.png") as image:
            assert image.size == (128, 128) and image.mode == "RGB", name


# The four maps of MrffPix2PixModel.forward through torch.nn.DataParallel over every visible GPU.
DATA_PARALLEL = textwrap.dedent("""
    import json, torch
    import mrff_plugin
    mrff_plugin.register('.')
    from models.mrff_pix2pix_model import MrffPix2PixModel
    from mrff_plugin.networks.unetpp_fusion import unetpp_fusion
    devices = list(range(torch.cuda.device_count()))
    torch.manual_seed(0)
    result = {"devices": len(devices)}
    for arch in ("paper", "released"):
        model = MrffPix2PixModel.__new__(MrffPix2PixModel)
        model.netG = torch.nn.DataParallel(unetpp_fusion(3, 1, ngf=4, mrff_arch=arch).cuda(), device_ids=devices)
        model.real_A = torch.randn(2 * len(devices), 3, 64, 64, device="cuda")
        model.base_visual_names = ["real_A", "fake_B", "real_B"]
        with torch.no_grad():
            model.forward()
            model.compute_visuals()
        weights = model.feature_weights
        result[arch] = {"names": model.visual_names, "shape": list(weights.shape), "device": weights.device.type,
                        "sum_error": float((weights.sum(1) - 1).abs().max()), "min": float(weights.min()),
                        "visual": list(model.attention_4.shape)}
    print(json.dumps(result))
""")


def test_four_attention_maps_come_through_data_parallel_on_the_gpu():
    result = run_host("-c", DATA_PARALLEL)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    replicas = seen.pop("devices") > 1
    for arch, maps in seen.items():
        assert maps["device"] == "cuda", arch
        assert maps["shape"][1:] == [4, 64, 64] and maps["min"] >= 0 and maps["sum_error"] < 1e-4, arch
        # f1..f4 are read off the module, which DataParallel's replicas do not update (several GPUs)
        expected = ["real_A", "fake_B", "real_B", *ATTENTION, *(() if replicas else BRANCHES)]
        assert maps["names"] == expected, arch
        assert maps["visual"] == [maps["shape"][0], 3, 64, 64], arch


@pytest.fixture(scope="module")
def weights(tiny_checkpoint):
    """tests/tiny_generator.py's checkpoint (the session's shared one)."""
    return tiny_checkpoint()


def test_generate_on_cuda_writes_the_cpu_images_within_one_grey_level(weights, tmp_path):
    images = write_images(tmp_path / "in", {"a.png": (64, 64), "b.png": (64, 64), "wide.png": (160, 96)})
    outputs = {}
    for device in ("cpu", "cuda"):
        outputs[device] = tmp_path / device
        result = mrff("generate", "--checkpoint", weights, "--input", images, "--output", outputs[device],
                      "--device", device, "--workers", "0", "--quiet")
        assert result.returncode == 0, result.stderr[-3000:]
    for name in ("a.png", "b.png", "wide.png"):
        cpu, cuda = grey(outputs["cpu"] / name), grey(outputs["cuda"] / name)
        assert cpu.shape == cuda.shape and cpu.std() > 5, name    # images with content, not a flat grey
        assert np.abs(cpu - cuda).max() <= 1, name


# Leaves about KEEP GiB of the GPU free (a ballast tensor takes the rest), then runs `mrff ARGS` in this
# process: generate's default --max_memory is then a share of what is left (printed, as the function gives it).
WITH_LITTLE_FREE = textwrap.dedent("""
    import sys, torch
    from mrff_plugin.generate.tiling import default_max_memory
    free, _ = torch.cuda.mem_get_info()
    ballast = torch.empty(max(0, free - int(float(sys.argv[1]) * 2 ** 30)), dtype=torch.uint8, device="cuda")
    print(f"FREE_BYTES {torch.cuda.mem_get_info()[0]} BUDGET_BYTES {default_max_memory('cuda')}", flush=True)
    from mrff_plugin.cli import main
    sys.exit(main(sys.argv[2:]))
""")
TILES_LINE = (r"1024x768 images need about (\S+) GB of activations, more than --max_memory (\S+) GB: generating them "
              r"in (\d+)x\d+ tiles")


def test_generate_tiles_within_a_share_of_the_free_gpu_memory(weights, tmp_path):
    from mrff_plugin.generate.tiling import MEMORY_SHARE
    images = write_images(tmp_path / "in", {"photo.png": (1024, 768)})   # ~0.7 GB of activations (ngf 8, fp32)
    command = ["generate", "--checkpoint", weights, "--input", images, "--workers", "0", "--quiet"]
    result = run_host("-c", WITH_LITTLE_FREE, "1.5", *command, "--output", tmp_path / "cuda", "--device", "cuda")
    assert result.returncode == 0, result.stderr[-3000:]
    free, budget = map(int, re.search(r"FREE_BYTES (\d+) BUDGET_BYTES (\d+)", result.stdout).groups())
    assert budget == pytest.approx(MEMORY_SHARE * free, rel=0.02) and budget < 0.5 * 2 ** 30
    line = re.search(TILES_LINE, result.stderr)
    assert line, result.stderr[-3000:]
    assert float(line.group(2)) == pytest.approx(budget / 2 ** 30, abs=0.06)
    assert float(line.group(1)) > float(line.group(2)) and int(line.group(3)) < 768
    # the same plan on the CPU (the same budget, given): the same tiles, the same image
    cpu = mrff(*command, "--output", tmp_path / "cpu", "--device", "cpu", "--max_memory", budget)
    assert cpu.returncode == 0, cpu.stderr[-3000:]
    assert re.search(TILES_LINE, cpu.stderr).group(3) == line.group(3)
    on_cuda, on_cpu = grey(tmp_path / "cuda" / "photo.png"), grey(tmp_path / "cpu" / "photo.png")
    assert on_cuda.shape == on_cpu.shape == (768, 1024) and on_cpu.std() > 5
    assert np.mean(np.abs(on_cuda - on_cpu) > 1) <= 1e-4


# Under torchrun: a one-process NCCL group (the host makes one only for WORLD_SIZE > 1), then train.py
# unchanged; counts the DistributedDataParallel wraps the host makes once it sees the group.
NCCL_TRAIN = textwrap.dedent("""
    import os, runpy, sys
    import torch, torch.distributed as dist
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl")
    print(f"BACKEND {dist.get_backend()} WORLD {dist.get_world_size()}", flush=True)
    wraps, wrap = [], torch.nn.parallel.DistributedDataParallel.__init__
    def counted(self, module, *args, **kwargs):
        wraps.append(str(kwargs.get("device_ids")).replace(" ", ""))
        wrap(self, module, *args, **kwargs)
    torch.nn.parallel.DistributedDataParallel.__init__ = counted
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        print("DDP " + " ".join(wraps), flush=True)
""")


def test_torchrun_one_process_trains_through_nccl_and_ddp(dataroot, tmp_path):
    script = tmp_path / "nccl_train.py"
    script.write_text(NCCL_TRAIN)
    result = torchrun(1, script, "train.py", "--dataroot", dataroot, "--name", "nccl", "--checkpoints_dir",
                      tmp_path, "--model", "pix2pix", "--netG", "unetpp_fusion", *TINY, *TRAIN, "--load_size", "128",
                      "--crop_size", "128", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "BACKEND nccl WORLD 1" in result.stdout
    assert re.search(r"^DDP (.*)$", result.stdout, re.M).group(1).split() == ["[0]", "[0]"]   # G and D on cuda:0
    assert len(finite_losses(tmp_path / "nccl")) == 2
    assert (tmp_path / "nccl" / "latest_net_G.pth").is_file()


def test_export_of_a_gpu_trained_checkpoint_matches_pytorch(trained, tmp_path):
    for module in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(module, reason=f"`mrff export` needs {module} (benchmarks/README.md, 'GPU check')")
    result, _, checkpoints = trained("unetpp_fusion paper")
    assert result.returncode == 0, result.stderr[-3000:]
    exported = mrff("export", "--checkpoint", checkpoints / "run" / "latest_net_G.pth", "--out",
                    tmp_path / "model.onnx")
    assert exported.returncode == 0, exported.stderr[-3000:]
    line = next(line for line in exported.stdout.splitlines() if "max abs difference" in line)
    assert 0 <= float(line.split("max abs difference ")[1].split()[0]) <= 1e-3
    assert (tmp_path / "model.onnx").stat().st_size > 10_000
