"""Packaging for mrff_plugin (see README.md for the one-command set-up)."""
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# The autoload hook: a .pth file in site-packages whose one line runs at every
# interpreter start.  It only installs a tiny import hook (mrff_plugin/attach/autoload.py,
# no torch); the plugin attaches when a pix2pix-style host's `models`/`data` is
# imported.  MRFF_NO_AUTOLOAD=1 switches it off before anything is imported (the
# same switch as mrff_plugin/attach/autoload.py's ENV_SWITCH).  Sorted after setuptools'
# `__editable__.*.pth`, so an editable install can already import mrff_plugin here.
AUTOLOAD_PTH = "mrff_plugin_autoload.pth"
AUTOLOAD_LINE = ("import os; exec(\"if os.environ.get('MRFF_NO_AUTOLOAD', '') in ('', '0'):\\n"
                 " try:\\n  import mrff_plugin.attach.autoload as m\\n except ImportError:\\n  pass\\n"
                 " else:\\n  m.install()\")\n")

# Repository folders a wheel carries inside the package, at mrff_plugin/_bundled/<the same path>, where
# mrff_plugin/bundled.py looks first: the bundled host (so `mrff train|test|demo|generate` work from a
# wheel) and the presets (`mrff train @kaist_fusion`).  They stay where they are in the repository; an
# editable install reads them there.  benchmarks/ is not carried: `mrff bench` needs a checkout.
BUNDLED = ("third_party/pix2pix_toolkit", "options")
BUNDLED_INTO = os.path.join("mrff_plugin", "_bundled")


class build_py_with_autoload(build_py):
    """build_py that also puts AUTOLOAD_PTH at the top of the wheel, i.e. into site-packages,
    and, for a wheel, copies the BUNDLED folders into the package.

    A normal build installs build_lib as is.  An editable build (pip install -e,
    PEP 660) discards build_lib and installs the wheel unpacked into the
    `install` command's install_lib, so the file goes there instead.
    """

    def run(self):
        super().run()
        editable = getattr(self, "editable_mode", False)
        folder = self.get_finalized_command("install").install_lib if editable else self.build_lib
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, AUTOLOAD_PTH), "w", encoding="utf-8") as pth:
            pth.write(AUTOLOAD_LINE)
        if not editable:
            for relative in BUNDLED:
                target = os.path.join(self.build_lib, BUNDLED_INTO, relative)
                shutil.rmtree(target, ignore_errors=True)   # no stale files from an earlier build
                shutil.copytree(relative, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(
    name="mrff-plugin",
    version="0.1.0",
    description="Multi-receptive-field feature fusion pix2pix (Ma, Hua, Zuo, ICCAIS 2021) "
                "as a plugin for pix2pix/CycleGAN toolkits",
    packages=find_packages(include=["mrff_plugin", "mrff_plugin.*"]),
    python_requires=">=3.9",
    install_requires=[
        "torch>=2.6",  # weights_only loading is safe only from 2.6 (CVE-2025-32434); the Makefile pins the exact one
        "torchvision",
        "numpy",
        "pillow",
        "dominate",      # HTML galleries (same library the host contract names)
        "visdom",        # live monitoring; see Makefile for its install quirk
        # visdom 0.2.4's page template asks for static_url("../user/style.css"); tornado 6.6 answers a path
        # outside the static folder with 403, so the dashboard page never renders (tornado 6.6 changelog,
        # StaticFileHandler.get_absolute_path). 6.5.x serves the page.
        "tornado<6.6",
        "tqdm",          # progress bars
        "torchmetrics",  # SSIM / PSNR (paper Table 3 protocol)
        "matplotlib",    # loss/metric curve PNGs
        "scipy",         # synthetic scenes: filters, interpolation
        "tifffile",      # radiometric LWIR: 16-bit and float32 TIFFs Pillow cannot read or tag (docs/radiometric.md)
    ],
    extras_require={
        # pytorch-fid: its Python FID Inception classes (built without weights) are the oracle the tests check
        # mrff's TorchScript Inception against (docs/metrics.md)
        "test": ["pytest", "pytest-timeout", "pytest-xdist", "scikit-image", "sewar", "pytorch-fid==0.3.0"],
        # `mrff export` / `mrff generate --backend onnxruntime` (README "Deploying"): torch.onnx.export's
        # default (torch.export-based) exporter writes through onnxscript and onnx; onnxruntime checks the
        # written file against PyTorch and runs it.
        "onnx": ["onnx", "onnxscript", "onnxruntime"],
        # FLIR radiometric JPEGs (raw counts, Planck constants, embedded photo; docs/radiometric.md): flyr,
        # EUPL-1.2, pure Python; pinned as its raw-count attribute is read (radiometric/flir_jpeg.py)
        "flir": ["flyr==5.1.0"],
    },
    entry_points={"console_scripts": ["mrff = mrff_plugin.cli:console"]},
    cmdclass={"build_py": build_py_with_autoload},
)
