"""``-f combined``: Apache/Nginx combined and common access-log lines.

``ip identity user [timestamp] "request" status bytes ["referer" "user_agent" ["request_time"]]``
becomes ``ip identity user ts request method path protocol status bytes referer
user_agent request_time`` (Kelora's names and order).  ``-`` values are left out; ``status``
and ``bytes`` are ints, ``request_time`` (nginx's extra quoted field) a float; the timestamp
stays the original string (``10/Oct/2000:13:55:36 -0700``).
"""
from __future__ import annotations

import re

from kelora.errors import InputError

from .inputs import Parser
from .scalars import parse_f64, parse_i64

# One pattern covers all three layouts: referer/agent and request_time are optional groups.
_ACCESS = re.compile(
    r'(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\d+) (\S+)'
    r'(?: "([^"]*)" "([^"]*)"(?: "([^"]*)")?)?\r?\Z'
)


def parse_combined(line: str) -> dict | None:
    m = _ACCESS.match(line)
    if m is None:
        return None
    ip, identity, user, ts, request, status, size, referer, agent, rtime = m.groups()
    ev = {"ip": ip}
    if identity != "-":
        ev["identity"] = identity
    if user != "-":
        ev["user"] = user
    ev["ts"] = ts
    ev["request"] = request
    parts = request.split(" ", 2)
    ev["method"] = parts[0]
    if len(parts) > 1:
        ev["path"] = parts[1]
    if len(parts) > 2:
        ev["protocol"] = parts[2]
    code = parse_i64(status)
    if code is not None:
        ev["status"] = code
    if size != "-":
        n = parse_i64(size)
        if n is not None:
            ev["bytes"] = n
    if referer is not None and referer != "-":
        ev["referer"] = referer
    if agent is not None and agent != "-":
        ev["user_agent"] = agent
    if rtime is not None and rtime != "-":
        t = parse_f64(rtime)
        if t is not None:
            ev["request_time"] = t
    return ev


class CombinedParser(Parser):
    format_name = "combined"

    def parse(self, line):
        ev = parse_combined(line)
        if ev is None:
            raise InputError("Invalid combined log format")
        return ev
