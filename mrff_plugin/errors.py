"""One error root: `MrffError`, a mistake the user can fix, told in one sentence.

Every error the plugin raises for something a user can cause (a wrong flag, a
missing or unreadable file, a checkpoint of another layout) is an `MrffError`,
usually also of the built-in type callers expect (`ValueError`, ...).  Its
message is one sentence that names the flag or file and the fix.  `mrff` prints
it as `mrff <command>: <sentence>` and exits 2.

Raised inside a host script, the same error should read the same there.  The
bundled host prints its own `util.errors.UserError` as one line and exits 2; an
upstream checkout has no such class and shows the error as it is.
`in_host_family(cls)` gives the subclass of `cls` that also is the host's
UserError (or `cls` where the host has none), and `host_error(error)` re-makes
an error as that subclass.  Only the standard library is imported.
"""


class MrffError(Exception):
    """A mistake the user can fix; str() is one sentence naming the flag or file and the fix."""


class OptionError(MrffError, ValueError):
    """A command-line value that cannot work (e.g. --val_size 0, an input size a generator cannot take)."""


class HostNotFound(MrffError, RuntimeError):
    """No pix2pix-style checkout at the requested place (`--host`, $MRFF_HOST, the bundled one)."""


def host_user_error():
    """The UserError class of the host on sys.path (the bundled host's util/errors.py), or None."""
    try:
        from util.errors import UserError
    except Exception:   # no `util` package, or one without errors.py (an upstream checkout)
        return None
    return UserError if isinstance(UserError, type) and issubclass(UserError, Exception) else None


_FAMILY = {}   # (cls, host UserError) -> their common subclass


def in_host_family(cls):
    """`cls` (an MrffError subclass), also a subclass of the host's UserError when the host has one.

    Made once per class and stored in this module under its name, so it pickles
    (a data-loader worker sends its exception to the main process by reference).
    """
    user_error = host_user_error()
    if user_error is None or issubclass(cls, user_error):
        return cls
    if (cls, user_error) not in _FAMILY:
        # the same name as `cls` (tracebacks and the host's worker-error reader show `<module>.<name>: ...`)
        name = cls.__name__
        made = type(name, (cls, user_error), {"__module__": __name__, "__qualname__": name})
        globals().setdefault(name, made)
        _FAMILY[cls, user_error] = made
    return _FAMILY[cls, user_error]


def host_error(error):
    """`error` re-made as an instance of `in_host_family(type(error))` (the same message)."""
    family = in_host_family(type(error))
    return error if family is type(error) else family(*error.args)
