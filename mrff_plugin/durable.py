"""Writing a file so that it is either the old one or the whole new one, even after a crash or a power cut.

`atomic_write(path)` gives a binary handle on a hidden temporary file in `path`'s folder; when the
block ends without an error the file is flushed, given the mode the umask gives a new file
(mkstemp makes 0600), fsynced, renamed over `path` (`os.replace`, atomic within one file system)
and the folder is fsynced (a rename lives in the folder's entries, not in the file).  When the
block raises, the temporary file is removed and `path` is untouched.  Every file the plugin
writes whole goes through it: `mrff generate`'s images and run record, `mrff synth`'s pairs (and their
radiometric counts, temperatures and calibration), the training's best generator and curve PNG, the
`--lwir_range` run map, `mrff evaluate`'s JSON and CSV, the frame split's pair lists, the Visdom assets.
`atomic_write_text(path, text)` is the same for a whole text (UTF-8).  Only the standard library.
"""
import contextlib
import os
import tempfile

TEMP_PREFIX = ".mrff_tmp_"


def current_umask():
    """The process's umask, read where Linux shows it (/proc/self/status) -- setting it to read it back would
    race with the threads that write files -- else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def fsync_folder(folder):
    """Make the renames in `folder` durable (a rename lives in the folder's entries, not in the file)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def temporary_beside(folder, suffix=""):
    """(binary handle, path) of a new hidden file in `folder` (made if missing).  The caller seals it and moves
    it into place inside the block; whatever is left at the end is removed."""
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.raw.name = temp   # writers that want the file's name (tifffile) get it, not the descriptor
            yield handle, temp
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def seal(handle):
    """Flush, chmod to the umask's mode and fsync an open temporary file: ready to be renamed into place."""
    handle.flush()
    os.fchmod(handle.fileno(), 0o666 & ~current_umask())
    os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_write(path):
    """Within: a binary handle whose bytes become the file `path` when the block ends (see module docstring)."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    with temporary_beside(folder, os.path.splitext(path)[1]) as (handle, temp):
        yield handle
        seal(handle)
        os.replace(temp, path)
    fsync_folder(folder)


def atomic_write_text(path, text):
    """Write `text` (UTF-8) as the file `path` through `atomic_write`."""
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))
