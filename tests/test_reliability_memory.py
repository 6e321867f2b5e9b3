"""`mrff generate`'s default --max_memory: a container's memory limit (cgroup) counts, not only the host's RAM.

Before, the default was a quarter of /proc/meminfo's MemAvailable, which inside a container shows the
host machine's memory: a 4 GB container on a 64 GB host planned 16 GB of activations and was killed.
"""
import pytest

from mrff_plugin.generate import tiling


def write_cgroup(tmp_path, limit, usage):
    (tmp_path / "memory.max").write_text(f"{limit}\n")
    (tmp_path / "memory.current").write_text(f"{usage}\n")
    return ((str(tmp_path / "memory.max"), str(tmp_path / "memory.current")),)


def test_a_containers_limit_caps_the_default_memory_budget(tmp_path, monkeypatch):
    limits = write_cgroup(tmp_path, 4 * 2 ** 30, 1 * 2 ** 30)   # 4 GB container, 1 GB in use
    assert tiling.cgroup_room(limits) == 3 * 2 ** 30
    monkeypatch.setattr(tiling, "CGROUP_LIMITS", limits)
    monkeypatch.setattr(tiling, "cgroup_room", lambda limits=limits: 3 * 2 ** 30)
    budget = tiling.default_max_memory("cpu")
    assert budget <= tiling.MEMORY_SHARE * 3 * 2 ** 30
    assert budget > 0


def test_no_limit_or_no_cgroup_leaves_the_ram_budget(tmp_path, monkeypatch):
    assert tiling.cgroup_room(write_cgroup(tmp_path, "max", 123)) is None
    assert tiling.cgroup_room(((str(tmp_path / "absent"), str(tmp_path / "absent2")),)) is None
    monkeypatch.setattr(tiling, "cgroup_room", lambda: None)
    with open("/proc/meminfo") as handle:
        available = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("MemAvailable:"))
    assert tiling.default_max_memory("cpu") == pytest.approx(tiling.MEMORY_SHARE * available, rel=0.2)


def test_a_full_container_gives_no_room_rather_than_a_negative_budget(tmp_path):
    assert tiling.cgroup_room(write_cgroup(tmp_path, 2 ** 30, 2 ** 31)) == 0


def test_the_attention_pass_is_tiled_within_max_memory_like_the_main_pass(tmp_path, monkeypatch, tiny_checkpoint):
    """`--save_attention`'s second pass used to run untiled whatever --max_memory said (19 GB for a 4000x3000
    photo); now it follows the same plan, and its maps stay close to the untiled ones."""
    import numpy as np
    import torch
    from PIL import Image
    from tiny_generator import write_images
    from mrff_plugin.generate import engine, files
    from mrff_plugin.generate.attention import save_attention_maps
    from mrff_plugin.generate.backends import open_backend
    from mrff_plugin.generate.options import GenerateOptions
    weights = tiny_checkpoint(output_gain=1.0)
    write_images(tmp_path / "in", {"photo.png": (416, 320)})
    torch.set_num_threads(1)
    backend, _ = open_backend("torch", torch.device("cpu"), checkpoint=str(weights))
    calls, real = [], engine.run_network
    monkeypatch.setattr(engine, "run_network", lambda *a, **k: calls.append(a[2:]) or real(*a, **k))
    maps = {}
    for label, budget in (("untiled", None), ("tiled", 40 * 2 ** 20)):
        jobs = files.plan_jobs(str(tmp_path / "in"), str(tmp_path / label), 0, 1, False)[0]
        (tmp_path / label).mkdir()
        save_attention_maps(backend, jobs, GenerateOptions(1, max_memory=budget))
        maps[label] = np.stack([np.asarray(Image.open(tmp_path / label / f"photo_attention_{k}.png"), np.int16)
                                for k in range(1, 5)])
    assert calls[0][0] is None and calls[1][0] is not None     # tile: none, then the plan's
    assert backend.cost(416 * 320) > 40 * 2 ** 20              # the untiled pass would have exceeded the budget
    assert np.abs(maps["tiled"] - maps["untiled"]).mean() < 8  # colour-mapped 0..255, the same maps up to tiling


def test_the_images_own_buffers_count_against_max_memory():
    """--max_memory used to cover the network's activations only: the decoded image, its float and padded
    copies, the output and (tiled) the whole-size accumulators came on top."""
    from mrff_plugin.generate.backends import ActivationCost
    cost = ActivationCost(100.0)
    buffers = tiling.buffer_bytes_per_pixel(3, 1)
    assert buffers == 9 * 3 + 9 * 1 + 4
    # a budget that fits 8 images' activations alone, but not with their buffers: fewer per pass
    budget = 8 * 100 * 256 * 256
    assert tiling.plan_size(256, 256, 32, cost, budget, 8)["batch"] == 8
    with_buffers = tiling.plan_size(256, 256, 32, cost, budget, 8, buffers=buffers)["batch"]
    assert with_buffers < 8 and with_buffers * (100 + buffers) * 256 * 256 <= budget
    # tiled: the whole image's buffers stay while its tiles run, so the tiles get a smaller share
    heavy, budget = ActivationCost(1000.0), 2 ** 28
    plain = tiling.plan_size(4000, 3000, 32, heavy, budget, 8)
    counted = tiling.plan_size(4000, 3000, 32, heavy, budget, 8, buffers=buffers)
    room = max(budget - buffers * 4000 * 3000, budget / 4)   # never below a quarter of the budget
    assert plain["tile"] == 512 and counted["tile"] < plain["tile"]
    assert (1000 + buffers) * counted["tile"] ** 2 <= room
