"""What is renamed into place survives a power cut, and has the permissions the user's umask asks for.

A rename is durable only once the folder holding it is fsynced, and the renamed file's data only if the file
was fsynced before; a file made by mkstemp is mode 0600 whatever the umask.  os.fsync is replaced by a recorder
that says, for each call, whether it got a file or a folder (and which).
"""
import json
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import HOST_DIR, host_env
from mrff_plugin.generate import files


def fsync_recorder(calls):
    """os.fsync stand-in appending ('file'|'folder', real path) and then syncing for real."""
    real_fsync = os.fsync

    def record(fd):
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        calls.append((kind, os.path.realpath(f"/proc/self/fd/{fd}")))
        real_fsync(fd)
    return record


@pytest.fixture
def umask():
    """Set a umask for the test, restore the previous one after it."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_generated_pngs_follow_the_umask_not_mkstemps_0600(tmp_path, umask, mask, mode):
    umask(mask)
    target = tmp_path / "out" / "a.png"
    files.write_png(np.zeros((8, 8), np.uint8), str(target))
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_generated_png_is_fsynced_before_its_rename_and_its_folder_after(tmp_path, monkeypatch):
    calls, events = [], []
    monkeypatch.setattr(os, "fsync", fsync_recorder(calls))
    real_replace = os.replace

    def replace(source, target):
        events.append(("replace", len(calls)))   # how many fsyncs came before the rename
        real_replace(source, target)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "out" / "a.png"
    files.write_png(np.zeros((8, 8), np.uint8), str(target))
    assert [kind for kind, _ in calls] == ["file", "folder"]
    assert calls[1][1] == str((tmp_path / "out").resolve())
    assert events == [("replace", 1)]             # the file's data before the rename, the folder after it


HOST_SAVE = textwrap.dedent("""
    import json, os, stat, sys
    sys.path.insert(0, sys.argv[1])
    calls = []
    real_fsync = os.fsync
    def record(fd):
        calls.append(["folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file",
                      os.path.realpath(f"/proc/self/fd/{fd}")])
        real_fsync(fd)
    os.fsync = record
    os.umask(0o022)
    from util import util
    path = os.path.join(sys.argv[2], "latest_net_G.pth")
    util.atomic_save({"w": 1}, path)
    print(json.dumps({"calls": calls, "mode": stat.S_IMODE(os.stat(path).st_mode)}))
""")


def test_the_hosts_checkpoint_save_fsyncs_the_file_and_then_its_folder_and_follows_the_umask(tmp_path):
    result = subprocess.run([sys.executable, "-c", HOST_SAVE, str(HOST_DIR), str(tmp_path)], env=host_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [kind for kind, _ in report["calls"]] == ["file", "folder"]
    assert report["calls"][1][1] == str(tmp_path.resolve())
    assert report["mode"] == 0o644
