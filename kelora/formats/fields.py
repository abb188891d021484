"""The well-known field names, in Kelora's order: where a timestamp, a level and a message are
looked for (timestamps and stats), and the canonical order of output keys (``order.py``)."""

TIMESTAMP_KEYS = (
    "ts", "_ts", "timestamp", "at", "time", "@timestamp", "log_timestamp", "event_time",
    "datetime", "date_time", "created_at", "logged_at", "_t", "@t", "t",
)
LEVEL_KEYS = (
    "level", "lvl", "severity", "log_level", "loglevel", "priority", "sev", "@level",
    "log_severity", "error_level", "event_level", "_level", "@l",
)
MESSAGE_KEYS = (
    "msg", "message", "content", "data", "log", "text", "description", "details", "body",
    "payload", "event_message", "log_message", "_message", "@message", "@m", "event",
)
# The keys whose values the default format colours as levels on a terminal: Kelora's own,
# shorter list (it includes Python logging's ``levelname``).
COLORED_LEVEL_KEYS = frozenset(("level", "loglevel", "log_level", "lvl", "severity", "levelname", "@l"))
