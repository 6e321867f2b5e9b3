"""Models the host finds by `--model NAME` once the plugin is registered (see hooks.ALIASES)."""
