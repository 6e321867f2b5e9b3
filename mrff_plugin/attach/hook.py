"""The import hook: one `sys.meta_path` finder for the host attached to.

It does two things, both only for modules inside that host's folder:

- aliases: a host module name in ALIASES (`data.kaist_aligned_dataset`) is
  loaded as the plugin module it names -- the same module object under both
  names, and an attribute of the host package -- so the host's own
  `importlib.import_module` lookup of `--dataset_mode`/`--model` finds it;
- patches: a host module with rows in the patch table (`patches.PATCHES`) is
  loaded as usual and then patched, row by row, so `register()` may run before
  or after the host is imported.

`HostFinder.uninstall()` undoes all it did.
"""
import importlib
import importlib.util
import os
import sys
from importlib.machinery import PathFinder

_MISSING = object()


class HostFinder:
    """sys.meta_path finder for the host checkout `root`: serves `aliases`, applies the `patches` rows."""

    def __init__(self, root, aliases, patches):
        self.root = root
        self.aliases = aliases          # host module name -> plugin module name
        self.patches = patches          # rows with .module (a host module name) and .apply(module, replace)
        self.patched = frozenset(row.module for row in patches)
        self.replaced = []              # (owner, attribute, previous value or _MISSING, new value)
        self.aliased = []               # alias names loaded into sys.modules

    # ---------------------------------------------------------------- install / uninstall

    def install(self):
        sys.meta_path.insert(0, self)
        for name in sorted(self.patched):  # host modules imported before register()
            module = sys.modules.get(name)
            if module is not None and self.in_host(module):
                self.patch(module)

    def uninstall(self):
        """Restore the host's attributes, drop the aliases and this finder."""
        for owner, attribute, previous, new in reversed(self.replaced):
            if vars(owner).get(attribute, _MISSING) is not new:
                continue  # someone wrapped it again after us; leave their wrapper in place
            if previous is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, previous)
        for name in self.aliased:
            sys.modules.pop(name, None)
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and child in vars(sys.modules[parent]):
                delattr(sys.modules[parent], child)
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self.replaced, self.aliased = [], []

    def patch(self, module):
        """Apply the rows of the patch table that name `module` (a host module that has just loaded)."""
        for row in self.patches:
            if row.module == module.__name__:
                row.apply(module, self.replace)

    def replace(self, owner, attribute, new):
        """setattr(owner, attribute, new), remembering what was there for uninstall()."""
        self.replaced.append((owner, attribute, vars(owner).get(attribute, _MISSING), new))
        setattr(owner, attribute, new)

    def in_host(self, module_or_path):
        """True when a module (or file) lives inside the host checkout."""
        path = module_or_path if isinstance(module_or_path, str) else getattr(module_or_path, "__file__", None)
        return bool(path) and os.path.realpath(path).startswith(os.path.realpath(self.root) + os.sep)

    # ---------------------------------------------------------------- the finder

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.aliases:
            return self._alias_spec(fullname)
        if fullname in self.patched:
            spec = PathFinder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and self.in_host(spec.origin or ""):
                spec.loader = _PatchAfterLoad(spec.loader, self)
            return spec
        return None

    def _alias_spec(self, fullname):
        parent = sys.modules.get(fullname.rpartition(".")[0])
        if parent is None or not self.in_host(parent):
            return None
        try:
            found = importlib.util.find_spec(self.aliases[fullname])
        except ModuleNotFoundError:
            found = None
        if found is None:
            return None  # plugin module not written/installed: the host reports the name as unknown
        return importlib.util.spec_from_loader(fullname, _AliasLoader(fullname, self.aliases[fullname], self))


class _PatchAfterLoad:
    """Loader wrapper: run the real loader, put it back on the module, then patch the module."""

    def __init__(self, loader, finder):
        self.loader, self.finder = loader, finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.finder.patch(module)

    def __getattr__(self, name):  # get_source, get_filename, ... as the real loader
        return getattr(self.loader, name)


class _AliasLoader:
    """Loads host module name `alias` as the plugin module `target` itself (one object, two names)."""

    def __init__(self, alias, target, finder):
        self.alias, self.target, self.finder = alias, target, finder

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.target_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.target_spec  # the import system has just set the alias's spec
        self.finder.aliased.append(self.alias)
