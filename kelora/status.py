"""Exit codes: the single place they are defined (reference §6.2)."""
from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # the run failed: parse gate, filter gate, assertion, missing input, script error
    USAGE = 2  # bad flags, config or script files; nothing was read
    SIGINT = 130
    INTERNAL = 134
    BROKEN_PIPE = 141
    SIGTERM = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so the pipeline flushes stats and metrics (kelora.cli.app
    installs the handler that raises it)."""
