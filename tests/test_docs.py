"""The documentation: links resolve, named files exist, generated pages are current, no history words.

README.md is the front door and docs/ holds one topic a page; docs/results.md (and README's
results table) are written by scripts/render_results.py from benchmarks/results/*.json, and
docs/cli/*-help.txt by scripts/cli_help.py from `mrff`'s own parser.
"""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "third_party", "build", "wheels", "node_modules", "__pycache__", ".pytest_cache"}
SKIP_PATHS = {ROOT / "benchmarks" / "out"}          # scratch output, worktrees of other commits
HISTORY_WORDS = re.compile(r"session [0-9]|issue [0-9]+", re.IGNORECASE)
OUTSIDE_DOCS = re.compile(r"host-contract\.md|released-network\.md|\bdesign\.md")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HOST = ROOT / "third_party" / "pix2pix_toolkit"
REPO_ROOTS = ("mrff_plugin/", "benchmarks/", "tests/", "scripts/", "docs/", "options/", "third_party/", ".ci/")


def project_files(*suffixes):
    """The project's own files with these suffixes: what git tracks or would track (not .venv,
    third_party/, build output or scratch); every file below the checkout where git is absent."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode == 0:
        paths = [ROOT / line for line in listed.stdout.splitlines()]
    else:
        paths = [p for p in ROOT.rglob("*") if not (set(p.relative_to(ROOT).parts) & SKIP_DIRS)]
    return sorted(p for p in paths if p.suffix in suffixes and p.is_file()
                  and not (set(p.relative_to(ROOT).parts) & SKIP_DIRS)
                  and not any(parent in SKIP_PATHS for parent in p.parents))


def run_script(name, *args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def slug(heading):
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown_file):
    return {slug(line.lstrip("#")) for line in markdown_file.read_text().splitlines() if line.startswith("#")}


def test_no_session_or_issue_numbers_in_the_projects_words_or_file_names():
    hits = [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}"
            for path in project_files(".md", ".py")
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1) if HISTORY_WORDS.search(line)]
    assert not hits, "history words (say what the project does, not how it was worked on):\n" + "\n".join(hits)
    prose = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    sessions = [f"{p.relative_to(ROOT)}:{n}" for p in prose
                for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\bsessions?\b", line, re.I)]
    assert not sessions, sessions
    named = [p.name for p in (ROOT / "benchmarks" / "results").iterdir() if re.search(r"session|issue", p.name, re.I)]
    assert not named, named


def test_every_relative_link_in_the_markdown_resolves():
    broken = []
    for page in project_files(".md"):
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                if target.startswith("#") and slug(target[1:].replace("-", " ")).replace(" ", "-") not in anchors(page):
                    broken.append(f"{page.relative_to(ROOT)}: {target}")
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve()
            if not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "links that do not resolve inside the repository:\n" + "\n".join(broken)


def written_by_a_command(token):
    """A path git ignores (benchmarks/out/, results/, ...): an output a command writes, absent from a clone."""
    return subprocess.run(["git", "check-ignore", "-q", "--no-index", token], cwd=ROOT).returncode == 0


def test_files_the_pages_and_the_code_name_exist_in_the_repository():
    missing = []
    pages = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for token in re.findall(r"`([^`\s]+)`", page.read_text()):
            token = token.rstrip(".,;:")
            if (token.startswith(REPO_ROOTS) and not re.search(r"[<*{]|\.\.\.|_bundled", token)
                    and not (ROOT / token).exists() and not (HOST / token).exists()   # host files: options/...
                    and not written_by_a_command(token)):
                missing.append(f"{page.relative_to(ROOT)}: {token}")
    for source in project_files(".py", ".md"):
        text = source.read_text(errors="replace")
        if OUTSIDE_DOCS.search(text):
            missing.append(f"{source.relative_to(ROOT)}: names a design note outside the repository")
        for cited in re.findall(r"\bdocs/[\w/.-]+\.(?:md|txt)\b", text):
            if not (ROOT / cited).exists():
                missing.append(f"{source.relative_to(ROOT)}: {cited}")
    assert not missing, "\n".join(missing)


def test_readme_is_a_short_front_door_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make demo" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    for page in ("install", "attaching", "architecture", "datasets", "training", "generate", "evaluation",
                 "troubleshooting", "development", "results", "recommendation"):
        assert f"docs/{page}.md" in readme, page


# a training or testing command as the pages show it: `mrff train|test`, or the host's script run directly
HOST_COMMAND = re.compile(r"^(?:mrff (?:train|test)|(?:python |\.venv/bin/python )?(?:-m mrff_plugin )?(?:train|test)\.py)\s")


def shown_commands(markdown):
    """Every command of a page: the lines of its fenced blocks (a trailing backslash joins the next line) and
    its inline code spans."""
    text = markdown.read_text()
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S):
        commands += [line.strip() for line in block.replace("\\\n", " ").splitlines()]
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return commands + [span.strip() for span in re.findall(r"`([^`\n]+)`", prose)]


def test_every_training_command_the_pages_show_names_its_model():
    # without --model (or a preset that sets it) the host's train.py trains its default: CycleGAN
    checked, missing = 0, []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for command in shown_commands(page):
            if not HOST_COMMAND.match(command) or "--dataroot" not in command or "..." in command:
                continue   # a flag named in passing, or flags elided on purpose: not a command to copy
            checked += 1
            presets = re.findall(r"(?:^|\s)@(\w+)|options/(\w+)\.txt", command)
            presets = [a or b for a, b in presets]
            if "--model" not in command and not any(
                    "--model" in (ROOT / "options" / f"{name}.txt").read_text() for name in presets):
                missing.append(f"{page.relative_to(ROOT)}: {command}")
    assert checked >= 8 and not missing, "\n".join(missing)


def test_results_page_and_readme_table_are_current():
    result = run_script("render_results.py", "--check")
    assert result.returncode == 0, result.stderr


def load_renderer(tmp_path):
    """scripts/render_results.py working on a copy of the results, the page and the README in tmp_path."""
    spec = importlib.util.spec_from_file_location("render_results_copy", ROOT / "scripts" / "render_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "results")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "results.md", tmp_path / "docs" / "results.md")
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    module.ROOT, module.RESULTS = tmp_path, tmp_path / "results"
    module.PAGE, module.README = tmp_path / "docs" / "results.md", tmp_path / "README.md"
    module.RECOMMENDATION, module.PRESET = tmp_path / "docs" / "recommendation.md", tmp_path / "real_lwir.txt"
    shutil.copy(ROOT / "docs" / "recommendation.md", module.RECOMMENDATION)
    shutil.copy(ROOT / "options" / "real_lwir.txt", module.PRESET)
    return module


def test_the_results_check_fails_when_a_measurement_changes(tmp_path, capsys):
    render = load_renderer(tmp_path)
    assert render.main(["--check"]) == 0
    demo = next((tmp_path / "results").glob("demo-schedule-*.json"))
    record = json.loads(demo.read_text())
    record["configurations"]["after"]["ssim_mean"] = 0.123456
    demo.write_text(json.dumps(record))
    assert render.main(["--check"]) == 1
    assert "docs/results.md is stale" in capsys.readouterr().err
    assert render.main([]) == 0
    assert "SSIM 0.123, PSNR" in (tmp_path / "README.md").read_text()
    assert "0.123 ± " in (tmp_path / "docs" / "results.md").read_text()
    assert render.main(["--check"]) == 0


def test_the_v3_section_reads_every_run_record_and_marks_flat_runs(tmp_path, capsys):
    render = load_renderer(tmp_path)
    records = tmp_path / "results" / "quality_v3" / "roadscene"
    summary = json.loads((tmp_path / "results" / render.summary_of("quality_v3")).read_text())
    page = render.render()
    under_way = "%d of the %d runs the protocol requires are recorded" % (summary["required_runs_done"],
                                                                         summary["required_runs"])
    assert (under_way in page) == (summary["required_runs_done"] < summary["required_runs"])
    for run in summary["summary"]["constant_output_runs"]:      # a flat run is named wherever it is counted
        model, seed = run["run"].rsplit("/seed", 1)
        rankings = " ".join(re.findall(r"Ranking by final held-out SSIM: [^\n]*", page))
        for where in (page, rankings):                                 # the comparisons' notes and the rankings
            named = re.findall(r"`%s` (?:\(flat: )?seeds? ([0-9, ]+)" % re.escape(model), where)
            assert any(seed in seeds.split(", ") for seeds in named), (model, seed)
    first = json.loads(next(records.glob("*.json")).read_text())
    first["seed"] = 99                                           # a record the summary has not read
    (records / "new_seed99.json").write_text(json.dumps(first))
    assert render.main(["--check"]) == 1
    assert f"{first['model']}/seed99" in capsys.readouterr().err
    assert render.main([]) == 1                                  # nothing rendered from a summary that is behind


def test_the_rerun_section_says_complete_only_with_every_planned_seed(tmp_path):
    render = load_renderer(tmp_path)
    report = json.loads((tmp_path / "results" / "quality_v2_rerun_synthetic.json").read_text())
    seeds = {model: sources["shipped"] for model, sources in report["per_seed_ssim"].items()}
    complete = all(len(s) >= (3 if "released" in model else 5) for model, s in seeds.items())
    assert render.rerun_complete("synthetic", report) == complete
    report["per_seed_ssim"]["fusion released"]["shipped"] = {"0": 0.46, "1": 0.47}    # the protocol runs 3 seeds
    assert not render.rerun_complete("synthetic", report)
    (tmp_path / "results" / "quality_v2_rerun_synthetic.json").write_text(json.dumps(report))
    assert "runs still being added" in "\n".join(render.rerun("synthetic"))
    report["per_seed_ssim"] = {m: {"shipped": {str(k): 0.5 for k in range(3 if "released" in m else 5)}}
                               for m in seeds}
    assert render.rerun_complete("synthetic", report)
    (tmp_path / "results" / "quality_v2_rerun_synthetic.json").write_text(json.dumps(report))
    assert "every run it plans is in" in "\n".join(render.rerun("synthetic"))


@pytest.mark.parametrize("words", ["sess" + "ion 9", "Iss" + "ue 24"])
def test_the_history_pattern_catches_the_words(words):
    assert HISTORY_WORDS.search(f"measured in {words} on this host")


def test_cli_help_pages_are_current():
    result = run_script("cli_help.py", "--check")
    assert result.returncode == 0, result.stderr
    assert (ROOT / "docs" / "cli" / "generate-help.txt").read_text().startswith("usage: mrff generate")
