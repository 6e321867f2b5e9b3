"""Checkpoints are only ever unpickled safely: torch.load(weights_only=True) everywhere, on a torch
where that is safe -- before torch 2.6 weights_only=True could still run code (CVE-2025-32434)."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("mrff_plugin", "benchmarks", "third_party/pix2pix_toolkit", "tests")


def torch_load_calls():
    """(file:line, weights_only argument's source or None) for every `torch.load(...)` call in the project."""
    calls = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "out" in path.relative_to(ROOT).parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
                    given = next((ast.unparse(k.value) for k in node.keywords if k.arg == "weights_only"), None)
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", given))
    return calls


def test_every_torch_load_in_the_project_passes_weights_only_true():
    calls = torch_load_calls()
    assert len(calls) >= 5, calls   # the host's checkpoints, generate, the benchmarks, the tests
    assert [(where, given) for where, given in calls if given != "True"] == []


def test_setup_requires_a_torch_whose_weights_only_loading_is_safe():
    text = (ROOT / "setup.py").read_text()
    requirement = re.search(r'"torch([<>=!~][^"]*)?"', text)
    assert requirement is not None
    lower = re.search(r">=\s*(\d+)\.(\d+)", requirement.group(0))
    assert lower is not None and (int(lower.group(1)), int(lower.group(2))) >= (2, 6), requirement.group(0)
