"""The one exception type for mistakes a user can fix (a wrong flag, a missing file)."""
import re

# How torch's DataLoader re-raises an exception from a worker process: the same type, built
# from this header and the worker's formatted traceback (torch/_utils.py, ExceptionWrapper).
_WORKER_HEADER = re.compile(r"^Caught (\w+) in DataLoader worker process \d+\.\nOriginal Traceback", re.S)


def worker_sentence(text):
    """The original message of an exception re-raised from a data-loader worker, else `text` as is.

    The worker's traceback ends with the line `<module>.<Type>: <message>`; the
    message is what the same error says with --num_threads 0.
    """
    match = _WORKER_HEADER.match(text)
    if not match:
        return text
    marker = f"{match.group(1)}: "
    last = text.rstrip("\n").rfind(marker)
    return text[last + len(marker):].strip() if last >= 0 else text


class UserError(Exception):
    """A problem caused by the command line or the files it names.

    The message is one sentence that names the flag or file and the fix; the
    scripts print it on stderr and exit non-zero instead of showing a traceback.
    Raised in a data-loader worker, it reads the same in the main process
    (`worker_sentence` drops the worker's traceback that torch adds).
    """

    def __str__(self):
        return worker_sentence(super().__str__())
