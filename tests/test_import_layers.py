"""Imports flow one way: no cycle, and nothing outside `commands/` and `cli.py` imports a command.

mrff_plugin and the benchmarks package are read from their own files with the standard library's
`ast` (nothing is imported), counting every import statement, also those inside functions: a lazy
import is still a dependency.  The benchmarks also never change the import path (`sys.path`): they
run as `python -m benchmarks.<name>` and import mrff_plugin as installed.
"""
import ast
from pathlib import Path

import mrff_plugin

PACKAGE = Path(mrff_plugin.__file__).resolve().parent
BENCHMARKS = PACKAGE.parent / "benchmarks"
NOT_CODE = ("_bundled",   # a wheel's copy of the bundled host and presets (mrff_plugin/bundled.py)
            "out")        # benchmarks/out/: scratch, and worktrees of other commits


def module_names(package=PACKAGE):
    """{dotted module name: its file} for every .py file of the package."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if any(part in NOT_CODE or part == "__pycache__" for part in parts):
            continue
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports_of(name, path, modules):
    """The package's modules that `name` (at `path`) imports, each with the line of its import statement."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def add(target, line):
        while target and target not in modules:   # `import a.b.c` of a name that is not a module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.append((target, line))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in modules else base, node.lineno)
    return found


def import_graph(package=PACKAGE):
    """{module: [(module of the package it imports, line)]} of one package."""
    modules = module_names(package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph):
    """One import cycle as a list of module names (first == last), or None."""
    state = {}   # name -> "open" while on the path, "done" after

    def visit(name, path):
        state[name] = "open"
        for target, _ in graph[name]:
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target, path + [target])
                if cycle:
                    return cycle
        state[name] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_the_import_graph_sees_relative_imports_and_imports_inside_functions():
    graph = import_graph()
    # commands/_host_script.py: `from ..attach.layout import ...` inside run()
    assert "mrff_plugin.attach.layout" in {target for target, _ in graph["mrff_plugin.commands._host_script"]}
    assert find_cycle({"a": [("b", 1)], "b": [("c", 2)], "c": [("a", 3)]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": [("b", 1)], "b": []}) is None


def test_no_import_cycle_in_the_package():
    assert find_cycle(import_graph()) is None


def test_only_the_cli_and_the_commands_import_a_command():
    upward = [f"{name} imports {target} (line {line})"
              for name, targets in import_graph().items()
              if name != "mrff_plugin.cli" and not name.startswith("mrff_plugin.commands")
              for target, line in targets if target.startswith("mrff_plugin.commands")]
    assert upward == []


# The attach layer's entry points for the rest of the package: register()/unregister() and finding a host.
ATTACH_ENTRY_POINTS = {"mrff_plugin.attach", "mrff_plugin.attach.layout"}


def test_only_the_attach_layer_reaches_into_how_options_travel_to_a_generator():
    """A generator's flags reach its builder inside the attach layer only (patches.py: create_model puts them
    with `netG`, define_G hands them to `networks.build`); generate/export build through `networks.build`
    themselves.  No other module imports the patch table or any attach module beyond its entry points, and
    the module-global hand-off of the parsed options (attach/handoff.py) is gone."""
    graph = import_graph()
    reaching = [f"{name} imports {target} (line {line})"
                for name, targets in graph.items() if not name.startswith("mrff_plugin.attach")
                for target, line in targets
                if target.startswith("mrff_plugin.attach.") and target not in ATTACH_ENTRY_POINTS]
    assert reaching == []
    assert "mrff_plugin.attach.handoff" not in graph
    assert "mrff_plugin.attach.patches" in {target for target, _ in graph["mrff_plugin.attach"]}  # sees it


def test_no_hand_written_list_of_a_generators_flags_outside_its_own_module():
    """Each registered generator's flags (`--mrff_arch`, ...) are named as string constants only in the module
    of its builder; everything else asks the registry (generate/export: `generator_flags`, `given_flags`)."""
    import inspect

    from mrff_plugin.networks import GENERATORS, OPTIONS
    assert set(OPTIONS["unetpp_fusion"].flags) == {"mrff_arch", "mrff_fusion", "mrff_channels", "mrff_released_width"}
    named = []
    for name, declared in OPTIONS.items():
        own = Path(inspect.getsourcefile(GENERATORS[name])).resolve()
        flags = set(declared.flags) | {f"--{flag}" for flag in declared.flags}
        for module, path in module_names().items():
            if path.resolve() == own:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in flags:
                    named.append(f"{module} line {node.lineno}: {node.value!r} ({name})")
    assert named == []


# ---------------------------------------------------------------- the benchmarks package

# The quality studies' layers, each importing only those before it; the drivers (one per study version) last.
QUALITY_LAYERS = ("data", "score", "train", "stats", "figures")
QUALITY_DRIVERS = ("v1", "v2", "v3", "compute")


def test_the_benchmarks_graph_sees_the_package_and_its_lazy_imports():
    graph = import_graph(BENCHMARKS)
    assert "benchmarks.quality.stats" in {target for target, _ in graph["benchmarks.quality.v2"]}
    # gpu_check.py imports the speed module inside its children's functions only
    assert "benchmarks.speed" in {target for target, _ in graph["benchmarks.gpu_check"]}


def test_no_import_cycle_in_the_benchmarks():
    assert find_cycle(import_graph(BENCHMARKS)) is None


def test_the_quality_layers_import_only_the_layers_before_them_and_no_driver():
    graph = import_graph(BENCHMARKS)
    order = [f"benchmarks.quality.{name}" for name in QUALITY_LAYERS]
    drivers = {f"benchmarks.quality.{name}" for name in QUALITY_DRIVERS}
    assert set(order) | drivers <= set(graph)
    wrong = [f"{layer} imports {target} (line {line})"
             for k, layer in enumerate(order) for target, line in graph[layer]
             if target in drivers or (target in order and order.index(target) >= k)]
    assert wrong == []


def path_changes(tree):
    """Lines of a module that change sys.path: sys.path.insert/append/extend/... calls, assignments to sys.path or
    to an item of it."""
    def is_path(node):
        return (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
                and node.value.id == "sys")
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_path(node.func.value):
            lines.append(node.lineno)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        lines += [node.lineno for t in targets if is_path(t) or (isinstance(t, ast.Subscript) and is_path(t.value))]
    return sorted(lines)


def test_the_benchmarks_never_change_the_import_path():
    changes = [f"{name} line {line}" for name, path in module_names(BENCHMARKS).items()
               for line in path_changes(ast.parse(path.read_text(encoding="utf-8")))]
    assert changes == []
    caught = path_changes(ast.parse("import sys\nsys.path.insert(0, 'x')\nsys.path[0] = 'y'\nsys.path += ['z']"))
    assert caught == [2, 3, 4]
