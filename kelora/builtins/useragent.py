"""parse_user_agent: a small hand-written User-Agent parser (no external database).

It recognises the common browsers, operating systems, command-line clients and crawlers; the
order of the rules matters (Edge and Opera say "Chrome", Chrome says "Safari").
"""
from __future__ import annotations

import re

from kelora.builtins.registry import builtin

# (family, regex with the version in group 1) - first match wins
_BROWSERS = [
    ("Googlebot", r"Googlebot/([\d.]+)"),
    ("Bingbot", r"bingbot/([\d.]+)"),
    ("YandexBot", r"YandexBot/([\d.]+)"),
    ("DuckDuckBot", r"DuckDuckBot/([\d.]+)"),
    ("Baiduspider", r"Baiduspider/([\d.]+)"),
    ("Edge", r"Edg(?:e|A|iOS)?/([\d.]+)"),
    ("Opera", r"(?:OPR|Opera)/([\d.]+)"),
    ("Samsung Internet", r"SamsungBrowser/([\d.]+)"),
    ("Vivaldi", r"Vivaldi/([\d.]+)"),
    ("Chrome", r"(?:Chrome|CriOS)/([\d.]+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/([\d.]+)"),
    ("Safari", r"Version/([\d.]+).*Safari/"),
    ("Internet Explorer", r"(?:MSIE |Trident/.*rv:)([\d.]+)"),
    ("curl", r"^curl/([\d.]+)"),
    ("Wget", r"^Wget/([\d.]+)"),
    ("Python Requests", r"python-requests/([\d.]+)"),
    ("Python urllib", r"Python-urllib/([\d.]+)"),
    ("Go-http-client", r"Go-http-client/([\d.]+)"),
    ("Java", r"^Java/([\d._]+)"),
    ("okhttp", r"okhttp/([\d.]+)"),
    ("PostmanRuntime", r"PostmanRuntime/([\d.]+)"),
    ("axios", r"axios/([\d.]+)"),
]
_BROWSER_RES = [(name, re.compile(rx)) for name, rx in _BROWSERS]

_WINDOWS = {"10.0": "10", "6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista", "5.1": "XP"}
_OS = [
    ("iOS", re.compile(r"(?:iPhone|CPU) OS ([\d_]+)")),
    ("iPadOS", re.compile(r"iPad.*OS ([\d_]+)")),
    ("Android", re.compile(r"Android ([\d.]+)")),
    ("Windows", re.compile(r"Windows NT ([\d.]+)")),
    ("Chrome OS", re.compile(r"CrOS \S+ ([\d.]+)")),
    ("macOS", re.compile(r"Mac OS X ([\d_.]+)")),
    ("Linux", re.compile(r"Linux()")),
]
_BOT = re.compile(r"bot|crawler|spider|slurp", re.IGNORECASE)
_TABLET = re.compile(r"iPad|Tablet|Android(?!.*Mobile)")
_MOBILE = re.compile(r"Mobile|iPhone|iPod|Android|Windows Phone")
_CLI = frozenset({"curl", "Wget", "Python Requests", "Python urllib", "Go-http-client", "Java",
                  "okhttp", "PostmanRuntime", "axios"})


@builtin("parsing")
def parse_user_agent(ua: str) -> dict:
    """Browser, OS and device of a User-Agent string.

    Returns #{browser, browser_version, os, os_version, device} (device is "Desktop", "Mobile",
    "Tablet", "Bot" or "Other"); parts it cannot tell are left out; "" gives #{}.

    Examples:
        parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")  =>  {"browser": "Chrome", "browser_version": "120.0.0.0", "os": "Windows", "os_version": "10", "device": "Desktop"}
        parse_user_agent("curl/8.4.0")  =>  {"browser": "curl", "browser_version": "8.4.0", "device": "Other"}
    """
    ua = ua.strip()
    if not ua:
        return {}
    out: dict = {}
    for name, rx in _BROWSER_RES:
        m = rx.search(ua)
        if m:
            out["browser"] = name
            out["browser_version"] = m.group(1)
            break
    for name, rx in _OS:
        m = rx.search(ua)
        if m:
            if name == "iOS" and "iPad" in ua:
                name = "iPadOS"
            out["os"] = name
            ver = m.group(1).replace("_", ".")
            if name == "Windows":
                ver = _WINDOWS.get(ver, ver)
            if ver:
                out["os_version"] = ver
            break
    browser = out.get("browser")
    if _BOT.search(ua):
        out["device"] = "Bot"
    elif browser in _CLI or "Mozilla/" not in ua:
        out["device"] = "Other"
    elif _TABLET.search(ua):
        out["device"] = "Tablet"
    elif _MOBILE.search(ua):
        out["device"] = "Mobile"
    else:
        out["device"] = "Desktop"
    return out
