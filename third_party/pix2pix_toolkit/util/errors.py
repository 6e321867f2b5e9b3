"""The one exception type for mistakes a user can fix (a wrong flag, a missing file)."""


class UserError(Exception):
    """A problem caused by the command line or the files it names.

    The message is one sentence that names the flag or file and the fix; the
    scripts print it on stderr and exit non-zero instead of showing a traceback.
    """
