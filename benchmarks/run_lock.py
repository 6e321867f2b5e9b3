"""One run, one process: a lock file per run, holding the pid of the process that trains it.

Two processes sharing a study's runs (one per core) each take a run before training it; a run another live
process holds is skipped, and a lock left by a process that died (killed, crashed) is cleared and taken.
Standard library only: the v2 rerun's driver runs as a script and imports it beside itself.
"""
import os
from pathlib import Path


def take(folder, key):
    """Lock the run `key` (a tuple of names) under `folder` for this process: the lock's path, or False when
    another live process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ("_".join(map(str, key)).replace(" ", "_") + ".lock")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            os.kill(int(lock.read_text() or 0), 0)
            return False                       # held by a live process
        except (ProcessLookupError, ValueError):
            lock.unlink(missing_ok=True)       # left by a process that died
            return take(folder, key)
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return lock


def take_undone(folder, key, record):
    """take(folder, key), unless the run's `record` exists (another process may have finished it between a
    look at the records and the lock): the lock's path, or False (nothing held)."""
    lock = take(folder, key)
    if lock and Path(record).is_file():
        lock.unlink()
        return False
    return lock
