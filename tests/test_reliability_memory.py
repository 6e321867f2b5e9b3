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
