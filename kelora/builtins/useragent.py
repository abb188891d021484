"""parse_user_agent: Kelora's small hand-written User-Agent parser (no external database).

Keys and rules follow Kelora: ``agent_family``/``agent_version`` from the first matching token
(curl, wget, okhttp, Go-http-client, Edge, Firefox, Chrome, then Safari's ``Version/`` when the
agent says Safari and not Chrome; otherwise "Mozilla"), ``os_family``/``os_version``, and
``device`` (Bot, Tablet, Mobile or Desktop).  Keys are left out when unknown.
"""
from __future__ import annotations

from kelora.builtins.registry import builtin

_AGENTS = (
    ("curl", "curl/"),
    ("wget", "wget/"),
    ("okhttp", "okhttp/"),
    ("Go-http-client", "go-http-client/"),
    ("Edge", "edge/"),
    ("Edge", "edg/"),
    ("Firefox", "firefox/"),
    ("Chrome", "chrome/"),
    ("Safari", "version/"),
)
_CLIENTS = frozenset({"curl", "wget", "okhttp", "Go-http-client"})
_DESKTOP_OS = frozenset({"Windows", "macOS", "Linux"})


def _version_at(text: str, start: int, underscores: bool) -> str:
    end = start
    allowed = "0123456789._" if underscores else "0123456789."
    while end < len(text) and text[end] in allowed:
        end += 1
    v = text[start:end]
    return v.replace("_", ".") if underscores else v


def _after(text: str, lower: str, token: str, underscores: bool = False) -> str | None:
    pos = lower.find(token)
    if pos < 0:
        return None
    return _version_at(text, pos + len(token), underscores)


def _os(text: str, lower: str) -> tuple[str | None, str | None]:
    if "windows nt " in lower:
        v = _after(text, lower, "windows nt ")
        return ("Windows", v) if v else (None, None)
    if "android " in lower:
        return "Android", _after(text, lower, "android ") or None
    for token in ("cpu iphone os ", "iphone os "):
        if token in lower:
            v = _after(text, lower, token, True)
            return ("iOS", v) if v else (None, None)
    if "cpu os " in lower and "ipad" in lower:
        v = _after(text, lower, "cpu os ", True)
        return ("iOS", v) if v else (None, None)
    if "mac os x " in lower:
        return "macOS", _after(text, lower, "mac os x ", True) or None
    if "linux" in lower:
        return "Linux", None
    return None, None


@builtin("parsing")
def parse_user_agent(ua: str) -> dict:
    """Agent, OS and device of a User-Agent string (Kelora's keys).

    Returns #{agent_family, agent_version, os_family, os_version, device}, each only when known;
    device is "Bot" (crawlers and curl/wget/okhttp/Go clients), "Tablet", "Mobile" or "Desktop".

    Examples:
        parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")  =>  #{"agent_family": "Chrome", "agent_version": "120.0.0.0", "os_family": "Windows", "os_version": "10.0", "device": "Desktop"}
        parse_user_agent("curl/8.4.0")  =>  #{"agent_family": "curl", "agent_version": "8.4.0", "device": "Bot"}
        parse_user_agent("")  =>  #{}
    """
    text = ua.strip()
    if not text or len(text) > 1 << 20:
        return {}
    lower = text.lower()
    out: dict = {}
    family = version = None
    for name, token in _AGENTS:
        v = _after(text, lower, token)
        if v is None:
            continue
        if name == "Safari" and ("safari/" not in lower or "chrome/" in lower):
            continue
        family, version = name, v
        break
    if family is None and "mozilla/" in lower:
        family = "Mozilla"
    if family is not None:
        out["agent_family"] = family
    if version:
        out["agent_version"] = version
    os_family, os_version = _os(text, lower)
    if os_family is not None:
        out["os_family"] = os_family
    if os_version:
        out["os_version"] = os_version
    if any(w in lower for w in ("bot", "spider", "crawler")) or family in _CLIENTS:
        out["device"] = "Bot"
    elif "ipad" in lower or "tablet" in lower:
        out["device"] = "Tablet"
    elif "mobile" in lower or "iphone" in lower:
        out["device"] = "Mobile"
    elif os_family in _DESKTOP_OS:
        out["device"] = "Desktop"
    return out
