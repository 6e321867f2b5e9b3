"""`mrff visdom-assets`: its table covers exactly Visdom 0.2.4's download list, altered files are refused,
and a machine without npm is told in one sentence what to run elsewhere. (Fetching from the real
registry and rendering the page: test_visdom_dashboard_browser.py.)"""
import ast
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from mrff_plugin.commands.visdom_assets import ASSETS, MATHJAX, packages, tarball_name

visdom = pytest.importorskip("visdom")
BUILD = Path(visdom.__file__).parent / "server" / "build.py"


def visdom_download_list():
    """Files `download_scripts` writes under static/: its ext_files (sub-folder by suffix) and MathJax list."""
    tree = ast.parse(BUILD.read_text())
    names, mathjax = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "ext_files":
            names = [v.value for v in node.value.values]
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "mathjax_path":
            mathjax = [e.value.split("?")[0] for e in node.value.elts]
    sub = lambda n: "js" if n.endswith((".js", ".js.map")) else "css" if n.endswith(".css") else "fonts"  # noqa
    return sorted([f"{sub(n)}/{n}" for n in names] + [MATHJAX + m for m in mathjax])


def test_the_table_is_visdoms_download_list_exactly():
    listed = visdom_download_list()
    assert len(listed) == 29
    assert sorted(a.target for a in ASSETS) == listed
    assert all(len(a.sha256) == 64 for a in ASSETS)
    assert len(packages()) == 15 and "plotly.js-dist-min@2.11.1" in packages()
    assert tarball_name("plotly.js-dist-min@2.11.1") == "plotly.js-dist-min-2.11.1.tgz"


def mrff(*args, env=None):
    return subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "visdom-assets", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env)


def test_altered_package_files_are_refused_and_nothing_is_installed(tmp_path):
    tarballs = tmp_path / "tgz"
    tarballs.mkdir()
    for spec in packages():                     # every package present, every file's content wrong
        with tarfile.open(tarballs / tarball_name(spec), "w:gz") as archive:
            for asset in ASSETS:
                if f"{asset.package}@{asset.version}" == spec:
                    data = b"not the published file"
                    info = tarfile.TarInfo(f"package/{asset.member}")
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
    static = tmp_path / "static"
    result = mrff("--tarballs", tarballs, "--static", static)
    assert result.returncode == 2
    assert result.stderr.startswith("error: 29 file(s) differ from the project's sha256 table, nothing was "
                                    "installed (first: jquery@3.1.1/dist/jquery.min.js has sha256 ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not static.exists() or not any(static.rglob("*"))
    check = mrff("--check", "--static", static)
    assert check.returncode == 1 and "0 of 29 files in place" in check.stdout


def test_without_npm_one_sentence_says_what_to_run_where_npm_is_reachable(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))   # no npm on PATH
    result = mrff("--tarballs", tmp_path / "tgz", "--static", tmp_path / "static", env=env)
    assert result.returncode == 2
    line, = result.stderr.strip().splitlines()
    assert line.startswith("error: npm is not installed here and ")
    assert f"npm pack {' '.join(packages())}" in line and "--tarballs FOLDER" in line
