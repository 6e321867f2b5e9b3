"""The flags a command declares, for the table-driven flag tests (test_flags_generate.py, test_flags_export.py):
its parser's long options and every registered generator's own flags (`--mrff_arch`, ...), which the command
takes as extra arguments.  A flag added to either without a row in the table fails that table's first test."""
import argparse


def declared_flags(command):
    """{'--flag', ...} of `command` (a module of mrff_plugin.commands) without --help."""
    from mrff_plugin.networks import OPTIONS
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    flags = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
    flags.discard("--help")
    return flags | {f"--{flag}" for options in OPTIONS.values() for flag in options.flags}
