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


def one_line(exc: BaseException, whole: bool = False) -> str:
    """An exception as one line: a user error's own message, anything else prefixed by its type.

    By default the first line only: it is the message, what follows (tracebacks pasted into messages,
    hints) is detail. ``whole``: every line, joined (pluggy's validation errors put the reason on line 2).
    """
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    text = " ".join(lines) if whole else (lines[0] if lines else "")
    if isinstance(exc, MMBenchError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
