"""Files that ship with the plugin but are not its code: the bundled host, the presets, the benchmarks.

In the repository they sit at its top: `third_party/pix2pix_toolkit/`, `options/`,
`benchmarks/`.  Where an installed package finds them depends on the install:

- a wheel or `pip install .` carries the bundled host and the presets inside the
  package, under `mrff_plugin/_bundled/<the same relative path>` (setup.py's
  build_py copies them there; the benchmarks stay in the repository);
- an editable install (`pip install -e .`, `make setup`) imports the package from
  the checkout, so it finds them in that checkout, whose location pip records in
  the distribution's `direct_url.json` (PEP 610).

`bundled_path(relative)` answers both with one rule: inside the package first,
then the editable checkout.  Only the standard library is imported.
"""
import json
from pathlib import Path

DISTRIBUTION = "mrff-plugin"            # setup.py's name
PACKAGED = Path(__file__).resolve().parent / "_bundled"
HOST = "third_party/pix2pix_toolkit"    # the project's compatible host (docs/architecture.md, "The host contract")
PRESETS = "options"                     # experiment presets (argument files)
BENCHMARKS = "benchmarks"               # benchmark scripts: checkout only


def editable_checkout():
    """The checkout an editable install of this package points at, or None (a wheel, or no install)."""
    from importlib import metadata
    here = Path(__file__).resolve()
    # every installed copy's metadata (a build's mrff_plugin.egg-info on sys.path has no direct_url.json)
    for distribution in metadata.distributions(name=DISTRIBUTION):
        checkout = _editable_folder(distribution.read_text("direct_url.json"))
        # the recorded checkout must be the one this module was imported from, not another install's
        if checkout is not None and (checkout / "mrff_plugin" / here.name).resolve() == here:
            return checkout
    return None


def _editable_folder(direct_url_json):
    """The folder of a PEP 610 `direct_url.json` of an editable install from a local folder, else None."""
    from urllib.parse import unquote, urlparse
    try:
        direct_url = json.loads(direct_url_json or "{}")
    except ValueError:
        return None
    url = urlparse(direct_url.get("url", ""))
    if not direct_url.get("dir_info", {}).get("editable") or url.scheme != "file":
        return None
    return Path(unquote(url.path)).resolve()


def bundled_path(relative):
    """Where `relative` (a repository path such as HOST) is for this install, or None when it is absent."""
    packaged = PACKAGED / relative
    if packaged.exists():
        return packaged
    checkout = editable_checkout()
    if checkout is not None and (checkout / relative).exists():
        return checkout / relative
    return None
