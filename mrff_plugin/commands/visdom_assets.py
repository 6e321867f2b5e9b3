"""`mrff visdom-assets`: install the scripts, styles and fonts Visdom's web page needs, from npm, checked.

Visdom 0.2.4's server (`visdom/server/build.py`, `download_scripts`) fetches its
page's files from CDNs (unpkg.com, cdn.plot.ly, d3js.org, cdnjs) each time it starts
without them, and the page at http://localhost:8097 stays blank where those are
unreachable. This command installs exactly the files of that download list, at the
versions it names, from the npm registry's package tarballs (`npm pack NAME@VERSION`,
through the npm configured here -- a registry mirror works), never from a CDN:

* every file in `ASSETS` is taken out of its package's tarball and its sha256 is
  compared with the table below before anything is written; one mismatch and
  nothing is installed;
* the files are written (atomically) to the names `download_scripts` checks,
  under the installed visdom package's `static/`, and `static/version.built` is
  set to the Visdom version, so `python -m visdom.server -bind_local` then starts without
  downloading anything.

Sources where the CDN file is not a package file by that name: plotly's
`cdn.plot.ly/plotly-2.11.1.min.js` is `plotly.min.js` of `plotly.js-dist-min@2.11.1`;
`d3js.org/d3.v3.min.js` is `d3.min.js` of `d3@3.5.17` (the last 3.x);
`d3js.org/d3-selection-multi.v1.js` is `build/d3-selection-multi.js` of
`d3-selection-multi@1.0.1`; unpkg's bare `classnames@2.2.5` is the package's
`index.js`; MathJax 2.7.5 from cdnjs is the `mathjax@2.7.5` package. Visdom's
list saves the glyphicons SVG font as `glyphicons-halflings-regular.svg#glyphicons_halflingsregular`
(the URL fragment kept in the file name); that name is what its start-up check
looks for, so it is installed under it.

    mrff visdom-assets                  # npm pack into a temporary folder, check, install
    mrff visdom-assets --tarballs DIR   # use (and keep) the .tgz files in DIR; npm fetches missing ones
    mrff visdom-assets --check          # say what is missing or altered; exit 1 unless complete

On a machine without npm, fetch the tarballs where the registry is reachable
(`mrff visdom-assets --tarballs DIR` there, or the `npm pack` line the error
prints), copy DIR over and run `mrff visdom-assets --tarballs DIR`.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import namedtuple

from ..durable import atomic_write
from ..errors import MrffError

VISDOM_VERSION = "0.2.4"
BUILT_MARKER = "version.built"   # visdom's own "already downloaded" marker in static/

Asset = namedtuple("Asset", "package version member target sha256")
MATHJAX = "js/mathjax/2.7.5/"

# (npm package, version, file in the package, file under visdom/static/, sha256 of that file)
ASSETS = tuple(Asset(*row) for row in (
    ("jquery", "3.1.1", "dist/jquery.min.js", "js/jquery.min.js",
     "85556761a8800d14ced8fcd41a6b8b26bf012d44a318866c0d81a62092efd9bf"),
    ("bootstrap", "3.3.7", "dist/js/bootstrap.min.js", "js/bootstrap.min.js",
     "53964478a7c634e8dad34ecc303dd8048d00dce4993906de1bacf67f663486ef"),
    ("react", "16.2.0", "umd/react.production.min.js", "js/react-react.min.js",
     "c28b91922bca297037cba02ec85c1c0dc179d1a942355f0b6e085f6021fa67df"),
    ("react-dom", "16.2.0", "umd/react-dom.production.min.js", "js/react-dom.min.js",
     "f61ac9c43e0842c58774da732e424a606898fd211914925252ac9e64f34a77c8"),
    ("react-modal", "3.1.10", "dist/react-modal.min.js", "js/react-modal.min.js",
     "096ce258905585d06758012ec6261a5dc52b11d82e112450670666109bbc6f35"),
    ("plotly.js-dist-min", "2.11.1", "plotly.min.js", "js/plotly-plotly.min.js",
     "dd146b2db18d4ced4743018fa65ada14b723bf1aae08b559a5576ba8116cd889"),
    ("sjcl", "1.0.7", "sjcl.js", "js/sjcl.js",
     "d09a8688f37c7442bb1e6699b46efb191d9281ef05a492586fa0f54dc4e5110a"),
    ("layout-bin-packer", "1.4.0", "dist/layout-bin-packer.js.map", "js/layout-bin-packer.js.map",
     "7f39df86278f0cd247daee3ef579a09df79078e1c585bc7b8ef968266e06c0b5"),
    ("d3", "3.5.17", "d3.min.js", "js/d3.v3.min.js",
     "76c39718d1c0a3fb321676b3b7e29306c0907919a5716d5728bd1b08ae0169e7"),
    ("d3-selection-multi", "1.0.1", "build/d3-selection-multi.js", "js/d3-selection-multi.v1.js",
     "22f89270afc6f231f8b974e37172a15525f28035276ca960f8ccdce622700315"),
    ("save-svg-as-png", "1.4.17", "lib/saveSvgAsPng.js", "js/saveSvgAsPng.js",
     "71c46f2411daf6ba2a4e38ec563d92f1da42f88da9247a2bdd5c8a10bde93ae3"),
    ("react-resizable", "1.4.6", "css/styles.css", "css/react-resizable-styles.css",
     "7c9122a97c86b4be7839fd3d23c37d06aec1ece3ef830f8bae3a8c121056d528"),
    ("react-grid-layout", "0.16.3", "css/styles.css", "css/react-grid-layout-styles.css",
     "4ec035a50c31ec008bab5794e88ef056043e63aaa8dcbb24d36e5a73780b4dbc"),
    ("bootstrap", "3.3.7", "dist/css/bootstrap.min.css", "css/bootstrap.min.css",
     "f75e846cc83bd11432f4b1e21a45f31bc85283d11d372f7b19accd1bf6a2635c"),
    ("classnames", "2.2.5", "index.js", "fonts/classnames",
     "89f83f030d5f5234436502f5d3ecfb01c1baaabe2a82785016563eb5800b674e"),
    ("layout-bin-packer", "1.4.0", "dist/layout-bin-packer.js", "js/layout_bin_packer.js",
     "312ed1834f78f497ac3c9e943ce4657679d26ad8cd62d7f722912d26c9d0ed29"),
    ("bootstrap", "3.3.7", "dist/fonts/glyphicons-halflings-regular.eot", "fonts/glyphicons-halflings-regular.eot",
     "13634da87d9e23f8c3ed9108ce1724d183a39ad072e73e1b3d8cbf646d2d0407"),
    ("bootstrap", "3.3.7", "dist/fonts/glyphicons-halflings-regular.woff2",
     "fonts/glyphicons-halflings-regular.woff2",
     "fe185d11a49676890d47bb783312a0cda5a44c4039214094e7957b4c040ef11c"),
    ("bootstrap", "3.3.7", "dist/fonts/glyphicons-halflings-regular.woff", "fonts/glyphicons-halflings-regular.woff",
     "a26394f7ede100ca118eff2eda08596275a9839b959c226e15439557a5a80742"),
    ("bootstrap", "3.3.7", "dist/fonts/glyphicons-halflings-regular.ttf", "fonts/glyphicons-halflings-regular.ttf",
     "e395044093757d82afcb138957d06a1ea9361bdcf0b442d06a18a8051af57456"),
    ("bootstrap", "3.3.7", "dist/fonts/glyphicons-halflings-regular.svg",
     "fonts/glyphicons-halflings-regular.svg#glyphicons_halflingsregular",
     "42f60659d265c1a3c30f9fa42abcbb56bd4a53af4d83d316d6dd7a36903c43e5"),
    ("mathjax", "2.7.5", "config/Safe.js", MATHJAX + "config/Safe.js",
     "c3d9f149afb82798a73d14a9737a82b5cb8bb8d217de631030a702d4ae0c1d8e"),
    ("mathjax", "2.7.5", "config/TeX-AMS-MML_HTMLorMML.js", MATHJAX + "config/TeX-AMS-MML_HTMLorMML.js",
     "f380ca5d5257b34fc5f0e4cccd7e1447dd3dfa3b65e06ed23f2a4f6af17e19f0"),
    ("mathjax", "2.7.5", "extensions/Safe.js", MATHJAX + "extensions/Safe.js",
     "1b44a7b48d991ab692da9074fe8582cd47d438b57445af064ce30d2eac3871dd"),
    ("mathjax", "2.7.5", "jax/output/SVG/fonts/TeX/fontdata.js", MATHJAX + "jax/output/SVG/fonts/TeX/fontdata.js",
     "c23d4bebe304610f617983eaeab7f8aa5e13a45391318f30ccf2650fbff939e1"),
    ("mathjax", "2.7.5", "jax/output/SVG/jax.js", MATHJAX + "jax/output/SVG/jax.js",
     "39d9a95fcde78f560cb5fcf11bb434ca5ad2349d74737b71160c8f473861fb5d"),
    ("mathjax", "2.7.5", "jax/output/SVG/fonts/TeX/Size1/Regular/Main.js",
     MATHJAX + "jax/output/SVG/fonts/TeX/Size1/Regular/Main.js",
     "3e1c830e9c05a62f9caf86f9e13d926c38c5136b1eba8f6171953e839ce3941f"),
    ("mathjax", "2.7.5", "jax/output/SVG/config.js", MATHJAX + "jax/output/SVG/config.js",
     "d680518add37c0d1bf50dea3c93a4cd2aa703d5e1d3e2748a0e016c26aee253c"),
    ("mathjax", "2.7.5", "MathJax.js", MATHJAX + "MathJax.js",
     "9ef249bfdc162849bcf2abe8425f5e90bd89fa4fd1588b1a492731c65b2bbfc9"),
))


class AssetsError(MrffError, RuntimeError):
    """Something the user can fix (no npm, wrong Visdom, altered file); the message is one sentence."""


def packages():
    """['jquery@3.1.1', ...]: the npm packages the assets come from, each once, in table order."""
    return list(dict.fromkeys(f"{a.package}@{a.version}" for a in ASSETS))


def tarball_name(spec):
    """'plotly.js-dist-min@2.11.1' -> 'plotly.js-dist-min-2.11.1.tgz' (npm pack's file name)."""
    name, _, version = spec.rpartition("@")
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def static_folder():
    """The installed visdom package's static/ folder; AssetsError unless it is Visdom 0.2.4."""
    try:
        import visdom
    except ImportError:
        raise AssetsError("visdom is not installed in this Python; run `make setup` (or pip install "
                          f"visdom=={VISDOM_VERSION}) first.") from None
    version = getattr(visdom, "__version__", "unknown")
    if version != VISDOM_VERSION:
        raise AssetsError(f"the installed visdom is {version}, but this table of files and sha256 sums is "
                          f"for visdom {VISDOM_VERSION}; install visdom=={VISDOM_VERSION}.")
    return os.path.join(os.path.dirname(os.path.abspath(visdom.__file__)), "static")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def missing_or_altered(static):
    """[(asset, 'missing' | 'altered')] for the files under `static` that are not as the table says."""
    problems = []
    for asset in ASSETS:
        path = os.path.join(static, asset.target)
        if not os.path.isfile(path):
            problems.append((asset, "missing"))
        else:
            with open(path, "rb") as handle:
                if sha256(handle.read()) != asset.sha256:
                    problems.append((asset, "altered"))
    return problems


def fetch(specs, folder):
    """Make sure `folder` holds the npm tarball of every spec, running `npm pack` for the missing ones."""
    wanted = [s for s in specs if not os.path.isfile(os.path.join(folder, tarball_name(s)))]
    if not wanted:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(f"npm is not installed here and {folder} lacks {len(wanted)} of the {len(specs)} "
                          f"package tarballs; where the npm registry is reachable run `npm pack "
                          f"{' '.join(specs)}` (or `mrff visdom-assets --tarballs DIR`), copy the .tgz files "
                          f"into a folder here and run `mrff visdom-assets --tarballs FOLDER`.")
    result = subprocess.run([npm, "pack", *wanted, "--pack-destination", folder],
                            capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise AssetsError(f"`npm pack` could not fetch the packages ({detail}); check that the npm registry "
                          f"(`npm config get registry`) is reachable, or fetch the tarballs elsewhere and pass "
                          f"--tarballs.")
    for spec in wanted:
        if not os.path.isfile(os.path.join(folder, tarball_name(spec))):
            raise AssetsError(f"`npm pack {spec}` did not leave {tarball_name(spec)} in {folder}; "
                              f"fetch it by hand and pass --tarballs.")


def extract(folder):
    """{target: bytes} of every asset, read from the tarballs in `folder` and checked against the table."""
    files, bad = {}, []
    for spec in packages():
        path = os.path.join(folder, tarball_name(spec))
        try:
            with tarfile.open(path, "r:gz") as archive:
                for asset in ASSETS:
                    if f"{asset.package}@{asset.version}" != spec:
                        continue
                    member = archive.extractfile(f"package/{asset.member}")
                    files[asset.target] = member.read()
        except (OSError, tarfile.TarError, KeyError) as exc:
            raise AssetsError(f"{path} is not the npm package {spec} ({exc}); delete it and run again.") from None
    for asset in ASSETS:
        got = sha256(files[asset.target])
        if got != asset.sha256:
            bad.append(f"{asset.package}@{asset.version}/{asset.member} has sha256 {got}, expected {asset.sha256}")
    if bad:
        raise AssetsError(f"{len(bad)} file(s) differ from the project's sha256 table, nothing was installed "
                          f"(first: {bad[0]}); check the registry you fetch from.")
    return files


def install(files, static):
    """Write every file (atomically) under `static`, then visdom's version.built marker."""
    for target, data in files.items():
        with atomic_write(os.path.join(static, target)) as handle:
            handle.write(data)
    with atomic_write(os.path.join(static, BUILT_MARKER)) as handle:
        handle.write(VISDOM_VERSION.encode())


def add_arguments(parser):
    parser.add_argument("--tarballs", default=None, metavar="DIR",
                        help="folder of the npm tarballs (kept; npm pack fills in missing ones); default: a "
                             "temporary folder")
    parser.add_argument("--static", default=None, metavar="DIR",
                        help="install here instead of the installed visdom package's static/ folder")
    parser.add_argument("--check", action="store_true",
                        help="only report missing or altered files; exit 1 unless all are in place")


def main(args):
    try:
        static = os.path.abspath(args.static) if args.static else static_folder()
        problems = missing_or_altered(static)
        if args.check:
            for asset, what in problems:
                print(f"{what}: {os.path.join(static, asset.target)}")
            print(f"mrff visdom-assets: {len(ASSETS) - len(problems)} of {len(ASSETS)} files in place in {static}")
            return 1 if problems else 0
        if args.tarballs:
            os.makedirs(args.tarballs, exist_ok=True)
            fetch(packages(), args.tarballs)
            files = extract(args.tarballs)
        else:
            with tempfile.TemporaryDirectory(prefix="mrff_visdom_npm_") as folder:
                fetch(packages(), folder)
                files = extract(folder)
        install(files, static)
    except AssetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"mrff visdom-assets: installed {len(files)} files from {len(packages())} npm packages into {static} "
          f"(sha256 checked); `python -m visdom.server -bind_local` now starts without downloading.")
    return 0
