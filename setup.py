"""Packaging for mrff_plugin (see README.md for the one-command set-up)."""
from setuptools import find_packages, setup

setup(
    name="mrff-plugin",
    version="0.1.0",
    description="Multi-receptive-field feature fusion pix2pix (Ma, Hua, Zuo, ICCAIS 2021) "
                "as a plugin for pix2pix/CycleGAN toolkits",
    packages=find_packages(include=["mrff_plugin", "mrff_plugin.*"]),
    python_requires=">=3.9",
    install_requires=[
        "torch>=2.0",
        "torchvision",
        "numpy",
        "pillow",
        "dominate",      # HTML galleries (same library the host contract names)
        "visdom",        # live monitoring; see Makefile for its install quirk
        "tqdm",          # progress bars
        "torchmetrics",  # SSIM / PSNR (paper Table 3 protocol)
        "matplotlib",    # loss/metric curve PNGs
        "scipy",         # synthetic scenes: filters, interpolation
    ],
    extras_require={
        "test": ["pytest", "pytest-timeout", "scikit-image"],
    },
    entry_points={"console_scripts": ["mrff = mrff_plugin.cli:main"]},
)
