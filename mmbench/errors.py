"""User-facing errors: the CLI prints their message on one line and exits non-zero, no traceback."""


class MMBenchError(Exception):
    """A mistake the user can fix (config, data, plugin, environment). The message says what to do."""

    exit_code = 2


class ConfigError(MMBenchError):
    """A config file or --set override is wrong."""


class DataError(MMBenchError):
    """Data is missing or does not have the challenge layout."""


class PluginError(MMBenchError):
    """A plugin is unknown, broken, or clashes with another."""


class RunInterrupted(MMBenchError):
    """The user pressed Ctrl-C; nothing partial was written."""

    exit_code = 130
