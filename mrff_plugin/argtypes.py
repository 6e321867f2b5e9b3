"""Argument types shared by the plugin's options and commands (no torch: `mrff`'s parser imports this)."""
import argparse


def positive_channels(text):
    """argparse type: a channel count, an integer >= 1 (--mrff_channels, mrff demo's --ngf/--ndf)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of channels")
    return value


def process_count(text):
    """argparse type: a number of worker processes, an integer >= 0 (0: in the main process; mrff generate's
    --workers)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of processes (0 or more; 0 decodes in this process)")
    return value


def positive_count(text):
    """argparse type: a count of things, an integer >= 1 (mrff generate's --batch_size)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive count (1 or more)")
    return value
