"""The command line: flags (``flags``), config files (``config_file``, ``config_trust``,
``shellwords``), help pages (``helptext``, ``docs``), and ``app``, which turns a command line into
a frozen ``kelora.config.Config`` and runs it (``kelora.run``).

Nothing below this package imports it: it is one of the two drivers, with ``kelora.api``."""
