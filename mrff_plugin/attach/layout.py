"""Finding a host: what a pix2pix/CycleGAN-style checkout looks like, and which one to use.

One definition (HOST_LAYOUT), read from the file system only, so the autoload
can ask it at every `import models` without importing anything: this module
imports nothing beyond `os` and `sys` at import.  The autoload, the runner
(`python -m mrff_plugin`), `register()`, `mrff train|test|demo --host` and
`mrff generate --host` all use it.
"""
import os
import sys

# Files that make a folder a pix2pix/CycleGAN-style checkout (docs/architecture.md, "The host contract").
HOST_LAYOUT = ("models/networks.py", "models/base_model.py", "data/base_dataset.py", "options/base_options.py")
HOST_ENV = "MRFF_HOST"   # the host the `mrff` commands use when --host is not given


# What the patches rely on beyond the layout (docs/architecture.md), read from the source without importing it:
# file -> (class or '' for the module, function or '' for the class alone, leading parameters by name or count).
CONTRACT = (
    ("options/base_options.py", "BaseOptions", "initialize", 2),   # initialize(self, parser)
    ("models/networks.py", "", "define_G",
     ("input_nc", "output_nc", "ngf", "netG", "norm", "use_dropout", "init_type", "init_gain")),
    ("models/base_model.py", "BaseModel", "", ()),
    ("data/base_dataset.py", "BaseDataset", "", ()),
)


def missing_files(folder):
    """The HOST_LAYOUT files `folder` lacks (none: it is a host checkout)."""
    return [name for name in HOST_LAYOUT if not os.path.isfile(os.path.join(folder, *name.split("/")))]


def is_host_root(folder):
    """True when `folder` has the pix2pix/CycleGAN checkout layout (HOST_LAYOUT)."""
    return not missing_files(folder)


def contract_misfit(folder):
    """None when the checkout `folder` has the signatures the plugin's patches need (CONTRACT), else the
    first misfit as a clause ("its options/base_options.py BaseOptions.initialize takes no parser argument").

    A project with the toolkit's layout but other signatures (NVIDIA's pix2pixHD: `initialize(self)`) is
    not a host: the patches would break it.  Only the source is parsed (`ast`); nothing is imported.
    """
    import ast
    for name, owner, function, parameters in CONTRACT:
        try:
            with open(os.path.join(folder, *name.split("/")), "rb") as handle:
                tree = ast.parse(handle.read(), filename=name)
        except (OSError, SyntaxError, ValueError):
            return f"its {name} is not valid Python"
        scope = tree.body
        if owner:
            found = [node for node in scope if isinstance(node, ast.ClassDef) and node.name == owner]
            if not found:
                return f"its {name} defines no class {owner}"
            scope = found[-1].body
        if not function:
            continue
        found = [node for node in scope if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.name == function]
        where = f"{owner}.{function}" if owner else function
        if not found:
            return f"its {name} defines no {where}"
        arguments = found[-1].args
        names = [arg.arg for arg in arguments.posonlyargs + arguments.args]
        required = len(names) - len(arguments.defaults)
        if isinstance(parameters, int):   # a count: (self, parser)
            if len(names) < parameters:
                return f"its {name} {where} takes no parser argument"
            if required > parameters:
                return f"its {name} {where} needs more arguments than (self, parser)"
            continue
        for position, wanted in enumerate(parameters):
            if position >= len(names) or names[position] != wanted:
                got = names[position] if position < len(names) else "nothing"
                return f"its {name} {where} takes {got} where the toolkit's takes {wanted}"
    return None


def not_attached(folder, misfit):
    """The sentence (without its end) for a checkout the plugin does not attach to, `misfit` saying why."""
    return (f"not attached to {folder}: {misfit}, so this is not a pix2pix/CycleGAN toolkit checkout the "
            f"plugin can extend")


def host_on_sys_path():
    """The host checkout whose `models` package is (or would be) imported, or None."""
    models = sys.modules.get("models")
    if models is not None:
        origin = getattr(models, "__file__", None)
    else:
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec("models")  # sys.path only; imports nothing
        origin = spec.origin if spec is not None else None
    if not origin:
        return None
    root = os.path.dirname(os.path.dirname(os.path.abspath(origin)))
    return root if is_host_root(root) else None


def find_host(path=None):
    """The host checkout folder (a pathlib.Path) for the `mrff` commands: `path`, else $MRFF_HOST,
    else the bundled one (`mrff_plugin.bundled`); HostNotFound names what is missing."""
    from pathlib import Path

    from ..bundled import HOST, bundled_path
    from ..errors import HostNotFound
    chosen = path or os.environ.get(HOST_ENV) or bundled_path(HOST)
    if chosen is None:
        raise HostNotFound(
            f"this install of mrff_plugin carries no bundled host ({HOST}); reinstall it from a wheel or a checkout "
            f"(pip install .), or pass --host PATH or set {HOST_ENV} to a pix2pix/CycleGAN checkout.")
    host = Path(chosen).expanduser().resolve()
    missing = missing_files(host)
    if missing:
        raise HostNotFound(
            f"{host} is not a pix2pix/CycleGAN toolkit checkout (missing {', '.join(missing)}); pass --host PATH "
            f"or set {HOST_ENV} to a folder with train.py, test.py, models/, data/, options/.")
    return host
