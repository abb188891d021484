"""What the user is told about a run: the counters of ``--stats`` (``stats``), messages, the
stats and error-summary renderings (``messages``), end-of-run hints (``hints``) and the progress
bar (``progress``)."""
