"""The run lock: `mrff demo` deletes nothing of a run that holds it, and the host never writes through a link.

A training run holds an exclusive flock on `<run folder>/.train.lock` (host util/run_lock.py).  `mrff demo`
used to delete its run folder's checkpoints before its train.py asked for that lock, so a second demo wiped
the checkpoints of the first while it trained; and the lock file was opened following links and truncated,
so a `.train.lock` linked to another file had that file overwritten with a pid.
"""
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import HOST_DIR, host_env
from mrff_plugin.commands.demo import DEMO_MARK, DemoError, replace_previous_demo

HOLD = textwrap.dedent("""
    import fcntl, os, sys, time
    handle = open(os.path.join(sys.argv[1], ".train.lock"), "a+")
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.write("4242\\n"); handle.flush()
    print("held", flush=True)
    time.sleep(60)
""")


def test_a_demo_deletes_no_checkpoint_of_a_run_that_holds_the_folder(tmp_path):
    run = tmp_path / "checkpoints" / "mrff_demo"
    run.mkdir(parents=True)
    (run / DEMO_MARK).write_text("demo\n")
    (run / "latest_net_G.pth").write_bytes(b"weights of the demo that is training")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DemoError) as refused:
            replace_previous_demo(run)
    finally:
        holder.kill()
        holder.wait()
    assert str(refused.value) == (f"the run folder {run} is in use by another training run (pid 4242), so its "
                                  f"checkpoints were left alone; wait for it to finish, or pass another --name.")
    assert (run / "latest_net_G.pth").read_bytes() == b"weights of the demo that is training"
    assert replace_previous_demo(run) == 1     # once the run is over, the demo replaces its folder as before


LOCK = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    from util import run_lock
    from util.errors import UserError
    try:
        run_lock.lock_run_folder(sys.argv[2])
    except UserError as exc:
        print(exc)
    else:
        print("locked")
""")


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_the_run_lock_never_writes_into_a_file_its_name_links_to(tmp_path, kind):
    run = tmp_path / "run"
    run.mkdir()
    victim = tmp_path / "notes.txt"
    victim.write_text("precious\n")
    (run / ".train.lock").symlink_to(victim) if kind == "symlink" else (run / ".train.lock").hardlink_to(victim)
    result = subprocess.run([sys.executable, "-c", LOCK, str(HOST_DIR), str(run)], env=host_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    link = "a symbolic link" if kind == "symlink" else "a second name of another file"
    assert result.stdout.strip() == (f"the run lock {run / '.train.lock'} is {link}; remove it (it is not "
                                     f"written through links), then start the run again.")


def test_the_run_lock_still_records_its_pid_in_a_plain_file(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".train.lock").write_text("99999 left by a killed run with a longer pid\n")
    script = LOCK + "import os; print(open(os.path.join(sys.argv[2], '.train.lock')).read() == f'{os.getpid()}\\n')"
    result = subprocess.run([sys.executable, "-c", script, str(HOST_DIR), str(run)], env=host_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["locked", "True"], result.stderr
