"""``-f syslog``: RFC 5424, then RFC 3164 (BSD), with the field names Kelora uses.

RFC 5424 ``<165>1 2023-10-11T22:14:15.003Z host app 1234 ID47 - msg`` gives
``pri facility severity version timestamp host prog pid msgid msg`` (``-`` fields are left out;
``pid`` is an int when numeric).  Structured data is skipped, as in Kelora, but parsed
properly: an SD element with spaces (``[id a="1 2"]``) does not leak into ``msg``.

RFC 3164 ``<34>Oct 11 22:14:15 host prog[123]: msg`` (the ``<pri>`` is optional) gives
``pri facility severity`` (when present) ``timestamp host prog pid`` (when present) ``msg``.
Timestamps stay strings; ``severity`` is the numeric severity (0 emerg .. 7 debug).
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
_RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)?(\w{3}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2})\s+(\S+)\s+([^:\[\s]+)(?:\[(\d+)\])?\s*:\s*(.*)\Z",
    re.DOTALL,
)


def _pid(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def parse_syslog(line: str) -> dict | None:
    m = _RFC5424.match(line)
    if m is not None:
        pri = int(m.group(1))
        if pri <= 191:
            ev = {"pri": pri, "facility": pri >> 3, "severity": pri & 7, "version": int(m.group(2))}
            ts, host, prog, pid, msgid, _sd, msg = m.group(3, 4, 5, 6, 7, 8, 9)
            if ts != "-":
                ev["timestamp"] = ts
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
    m = _RFC3164.match(line)
    if m is not None:
        ev = {}
        if m.group(1) is not None:
            pri = int(m.group(1))
            if pri > 191:
                return None
            ev.update(pri=pri, facility=pri >> 3, severity=pri & 7)
        ev["timestamp"] = m.group(2)
        ev["host"] = m.group(3)
        ev["prog"] = m.group(4)
        if m.group(5) is not None:
            ev["pid"] = _pid(m.group(5))
        ev["msg"] = m.group(6)
        return ev
    return None


class SyslogParser(Parser):
    format_name = "syslog"

    def parse(self, line):
        ev = parse_syslog(line)
        if ev is None:
            raise InputError(f"Failed to parse syslog line: {line}")
        return ev
