"""``-f syslog``: RFC 5424, then RFC 3164 (BSD), with the field names Kelora uses.

RFC 5424 ``<165>1 2023-10-11T22:14:15.003Z host app 1234 ID47 - msg`` gives
``pri facility severity level version ts host prog pid msgid msg`` (``-`` fields are left out;
``pid`` is an int when numeric).  Structured data is skipped, as in Kelora, but parsed
properly: an SD element with spaces (``[id a="1 2"]``) does not leak into ``msg``.

RFC 3164 ``<34>Oct 11 22:14:15 host prog[123]: msg`` (the ``<pri>`` is optional) gives
``pri facility severity level`` (when the priority is present) ``ts host prog pid`` (when
present) ``msg``.  Timestamps stay strings; ``severity`` is the numeric severity (0 emerg ..
7 debug) and ``level`` its name (``EMERG ALERT CRIT ERROR WARN NOTICE INFO DEBUG``).

Real BSD lines do not always have a ``prog[pid]:`` tag (``syslogd 1.4.1: restart.``,
``sandboxd[129] ([31211]): ...``, ``Microsoft Word[14463]: ...``); Kelora rejects them.  Here a
line with a BSD timestamp and a host still parses: a tag whose program name has spaces is
taken whole when a ``[pid]:`` follows it; otherwise ``prog`` (and ``[pid]``) is the first word
and ``msg`` keeps everything after it verbatim, so no text is lost; when the rest does not
start with a word (``-- root[2421]: ...``) it is all ``msg``, without ``prog``.
"""
from __future__ import annotations

import re

from kelora.errors import InputError

from .inputs import Parser

_SD = r'(?:-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)'
_RFC5424 = re.compile(
    r"<(\d{1,3})>(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(" + _SD + r"|\S+)(?:\s+(.*))?\Z",
    re.DOTALL,
)
_BSD_HEAD = r"(?:<(\d{1,3})>)?(\w{3}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2})\s+(\S+)\s+"
# Kelora's RFC 3164 pattern: ``prog[pid]: msg`` with a one-word program name.
_RFC3164 = re.compile(_BSD_HEAD + r"([^:\[\s]+)(?:\[(\d+)\])?\s*:\s*(.*)\Z", re.DOTALL)
# A program name with spaces ("Microsoft Word[14463]: ..."), when a [pid] and ':' follow it.
_SPACED_TAG = re.compile(_BSD_HEAD + r"(\w[^:\[\]]*?)\[(\d+)\]\s*:\s*(.*)\Z", re.DOTALL)
# Anything else after the host: the first word (and its [pid]) is the program, the rest the
# message as written ("1.4.1: restart.", "([31211]): com.apple...").
_LOOSE = re.compile(_BSD_HEAD + r"(\w[^:\[\s]*)(?:\[(\d+)\])?:?(?:\s+(.*))?\Z", re.DOTALL)
# No program name at all ("-- root[2421]: ROOT LOGIN ON tty2"): the whole rest is the message.
_BARE = re.compile(_BSD_HEAD + r"()()(.*)\Z", re.DOTALL)

LEVELS = ("EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG")


def _pid(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def _priority(ev: dict, text: str) -> bool:
    pri = int(text)
    if pri > 191:
        return False
    severity = pri & 7
    ev.update(pri=pri, facility=pri >> 3, severity=severity, level=LEVELS[severity])
    return True


def parse_syslog(line: str) -> dict | None:
    m = _RFC5424.match(line)
    if m is not None:
        ev = {}
        if _priority(ev, m.group(1)):
            ev["version"] = int(m.group(2))
            ts, host, prog, pid, msgid, _sd, msg = m.group(3, 4, 5, 6, 7, 8, 9)
            if ts != "-":
                ev["ts"] = ts
            if host != "-":
                ev["host"] = host
            if prog != "-":
                ev["prog"] = prog
            if pid != "-":
                ev["pid"] = _pid(pid)
            if msgid != "-":
                ev["msgid"] = msgid
            if msg is not None:
                ev["msg"] = msg
            return ev
    m = _RFC3164.match(line) or _SPACED_TAG.match(line) or _LOOSE.match(line) or _BARE.match(line)
    if m is not None:
        ev = {}
        if m.group(1) is not None and not _priority(ev, m.group(1)):
            return None
        ev["ts"] = m.group(2)
        ev["host"] = m.group(3)
        if m.group(4):
            ev["prog"] = m.group(4)
        if m.group(5):
            ev["pid"] = _pid(m.group(5))
        msg = m.group(6)
        ev["msg"] = "" if msg is None else msg
        return ev
    return None


class SyslogParser(Parser):
    format_name = "syslog"

    def parse(self, line):
        ev = parse_syslog(line)
        if ev is None:
            raise InputError(f"Failed to parse syslog line: {line}")
        return ev
