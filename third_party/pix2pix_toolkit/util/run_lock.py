"""One training run per run folder: an exclusive `fcntl.flock` on `<checkpoints_dir>/<name>/.train.lock`.

The kernel drops the lock when the process exits, however it exits (SIGKILL
included), so a lock file left behind by a killed run never blocks the next
one; the file only holds the pid of the run that has it, for the message.
"""
import fcntl
import os

from .errors import UserError

LOCK_FILE = ".train.lock"
_held = {}  # real path of a locked run folder -> its open lock file (kept open while the process lives)


def lock_run_folder(folder):
    """Take the run folder's lock for this process, or raise UserError naming the process that holds it."""
    key = os.path.realpath(folder)
    if key in _held:
        return
    path = os.path.join(folder, LOCK_FILE)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise UserError(f"the run folder {folder} is in use by another training run (pid {holder}); wait for it "
                        f"to finish, or pass another --name (or --checkpoints_dir) to start a separate run.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held[key] = handle
