"""One training run per run folder: an exclusive `fcntl.flock` on `<checkpoints_dir>/<name>/.train.lock`.

The kernel drops the lock when the process exits, however it exits (SIGKILL
included), so a lock file left behind by a killed run never blocks the next
one; the file only holds the pid of the run that has it, for the message.
A launcher that must do something in the run folder first (`mrff demo` deletes its
previous run's checkpoints) takes the lock itself and hands its open descriptor to
train.py ($PIX2PIX_RUN_LOCK_FD), so no other run can start in between.
The file is opened without following a link and only when it is a plain file with
one name, so the pid is never written into another file (a link planted as
`.train.lock`).
"""
import errno
import fcntl
import os
import stat

from .errors import UserError

LOCK_FILE = ".train.lock"
# A launcher that took the lock itself (to delete in the run folder first) passes its open descriptor of the
# lock file in this variable; the flock belongs to that open file, so this process holds it already.
INHERITED_LOCK_FD = "PIX2PIX_RUN_LOCK_FD"
_held = {}  # real path of a locked run folder -> its open lock file (kept open while the process lives)


def lock_run_folder(folder):
    """Take the run folder's lock for this process, or raise UserError naming the process that holds it."""
    key = os.path.realpath(folder)
    if key in _held:
        return
    path = os.path.join(folder, LOCK_FILE)
    handle = _inherited_lock(path) or _open_own_file(path)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise UserError(f"the run folder {folder} is in use by another training run (pid {holder}); wait for it "
                        f"to finish, or pass another --name (or --checkpoints_dir) to start a separate run.") from None
    handle.seek(0)
    handle.truncate()  # our own lock file, held: the pid of a run that ended is replaced
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held[key] = handle


def _inherited_lock(path):
    """The lock file opened by the launcher ($PIX2PIX_RUN_LOCK_FD) when that descriptor is `path` itself, else
    None."""
    try:
        fd = int(os.environ.get(INHERITED_LOCK_FD, ""))
        held, here = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except (ValueError, OSError):
        return None
    if (held.st_dev, held.st_ino) != (here.st_dev, here.st_ino) or not stat.S_ISREG(here.st_mode):
        return None
    return os.fdopen(fd, "r+")


def _open_own_file(path):
    """`path` opened for reading and writing (created if absent), never through a symbolic link and never a
    file that has another name too; UserError naming the file otherwise."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        fd, what = None, "a symbolic link"
    if fd is not None:
        info = os.fstat(fd)
        what = (None if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 else
                "a second name of another file" if stat.S_ISREG(info.st_mode) else "not a plain file")
        if what is None:
            return os.fdopen(fd, "r+")
        os.close(fd)
    raise UserError(f"the run lock {path} is {what}; remove it (it is not written through links), then start "
                    f"the run again.")
