"""The shared settings, one module per concern; `config.settings.base` gathers them in order."""
