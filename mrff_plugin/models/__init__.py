"""Models the host finds by `--model NAME` once the plugin is registered (see attach/patches.py, ALIASES)."""
