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
import copyreg


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


class _HostFamily(type):
    """The type of the classes in_host_family makes: such a class pickles as `in_host_family(<its MrffError
    class>)` (copyreg below), so it has no module attribute of its own to be found by, and an error raised in
    a data-loader worker is re-raised in the main process as the same class there."""


def _pickle_family(cls):
    return in_host_family, (cls.__mro__[1],)


copyreg.pickle(_HostFamily, _pickle_family)


def in_host_family(cls):
    """`cls` (an MrffError subclass), also a subclass of the host's UserError when the host has one (made once
    per class, named as `cls`, so tracebacks and the host's worker-error reader show `<module>.<name>: ...`)."""
    user_error = host_user_error()
    if user_error is None or issubclass(cls, user_error):
        return cls
    if (cls, user_error) not in _FAMILY:
        _FAMILY[cls, user_error] = _HostFamily(cls.__name__, (cls, user_error),
                                               {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    return _FAMILY[cls, user_error]


def host_error(error):
    """`error` re-made as an instance of `in_host_family(type(error))` (the same message)."""
    family = in_host_family(type(error))
    return error if family is type(error) else family(*error.args)
