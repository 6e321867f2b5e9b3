"""Every Visdom server command the project prints or documents listens on the local machine only.

Visdom 0.2.4 listens on every interface unless started with `-bind_local` (visdom/server/run_server.py:
`app.listen(port, address="127.0.0.1")` only then; `--hostname` changes nothing but the printed URL), and
without `-enable_login` anyone who reaches the port sees the training images and can post HTML panes.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"`[^`\n]*-m visdom\.server[^`\n]*`")   # a quoted command line that starts the server
SOURCES = ["README.md", *sorted(str(p.relative_to(ROOT)) for folder in ("mrff_plugin", "benchmarks",
                                                                       "third_party/pix2pix_toolkit")
                               for p in (ROOT / folder).rglob("*.py") if "out" not in p.relative_to(ROOT).parts)]


def server_commands():
    """(file, command) for every quoted `... -m visdom.server ...` in the README and the printed messages."""
    return [(name, match) for name in SOURCES for match in COMMAND.findall((ROOT / name).read_text())]


def test_every_visdom_server_command_the_project_shows_binds_to_the_local_machine():
    commands = server_commands()
    files = {name for name, _ in commands}
    # the README, the demo's and the host's "start one with ..." lines, and visdom-assets' closing line
    assert {"README.md", "mrff_plugin/commands/demo.py", "third_party/pix2pix_toolkit/util/visualizer.py",
            "mrff_plugin/commands/visdom_assets.py"} <= files, files
    exposed = [(name, command) for name, command in commands if "-bind_local" not in command.strip("`").split()]
    assert exposed == []


def test_the_training_page_says_how_to_expose_visdom_on_purpose_and_what_that_exposes():
    text = (ROOT / "docs" / "training.md").read_text()
    assert "-enable_login" in text and "-bind_local" in text
    assert re.search(r"training images", text) and re.search(r"HTML", text)
