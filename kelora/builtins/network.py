"""IP address builtins: masking, classification and CIDR membership.

Parsing follows Rust's ``IpAddr`` (which Kelora uses): strict dotted quads (no leading zeros, no
ports), IPv6 with ``::`` and an embedded IPv4 tail, but no zone ids (``%eth0``).  Output uses
Rust's ``Ipv6Addr`` display: RFC 5952 compression, and ``::ffff:a.b.c.d`` for IPv4-mapped
addresses.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from kelora.builtins.registry import builtin
from kelora.errors import FunctionError

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address


@lru_cache(maxsize=16384)
def parse_ip(text: str) -> IPv4 | IPv6 | None:
    """An address parsed like Rust's ``IpAddr::from_str``, or None."""
    if not text or "%" in text or text != text.strip():
        return None
    try:
        if ":" in text:
            return IPv6(text)
        return IPv4(text)  # rejects leading zeros ("01.2.3.4") as Rust does
    except ValueError:
        return None


def format_ipv6(addr: IPv6) -> str:
    """Rust ``Ipv6Addr`` display: RFC 5952, IPv4-mapped addresses in dotted form."""
    mapped = addr.ipv4_mapped
    if mapped is not None:
        return f"::ffff:{mapped}"
    return addr.compressed


@builtin("network", hides_value=True)
def mask_ip(ip: str, n: int = 1) -> str:
    """Zero the last *n* octets of an IPv4 (or 16-bit groups of an IPv6) address.

    IPv4: n is clamped to 1..4 (default 1).  IPv6: n is clamped to 1..8 and the result is
    printed compressed.  Text that is not an IP address is returned unchanged.

    Examples:
        mask_ip("192.168.1.42")  =>  "192.168.1.0"
        mask_ip("10.1.2.3", 2)  =>  "10.1.0.0"
        mask_ip("10.1.2.3", 0)  =>  "10.1.2.0"
        mask_ip("2001:db8:85a3::8a2e:370:7334", 3)  =>  "2001:db8:85a3::"
        mask_ip("not an ip")  =>  "not an ip"
        mask_ip("1.2.3.4:80")  =>  "1.2.3.4:80"
    """
    addr = parse_ip(ip)
    if addr is None:
        return ip
    if type(addr) is IPv4:
        bits = 8 * min(max(n, 1), 4)
        value = int(addr) >> bits << bits
        return str(IPv4(value))
    bits = 16 * min(max(n, 1), 8)
    return format_ipv6(IPv6(int(addr) >> bits << bits))


_PRIVATE_V4 = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8")
)
_PRIVATE_V6 = tuple(ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10", "::1/128"))


@builtin("network")
def is_private_ip(ip: str) -> bool:
    """True for private addresses: IPv4 RFC 1918 or loopback; IPv6 fc00::/7, fe80::/10, ::1.

    Invalid addresses give false.

    Examples:
        is_private_ip("192.168.1.1")  =>  true
        is_private_ip("172.31.0.5")  =>  true
        is_private_ip("8.8.8.8")  =>  false
        is_private_ip("fe80::1")  =>  true
        is_private_ip("nonsense")  =>  false
    """
    addr = parse_ip(ip)
    if addr is None:
        return False
    nets = _PRIVATE_V4 if type(addr) is IPv4 else _PRIVATE_V6
    return any(addr in net for net in nets)


@builtin("network")
def is_ipv4(text: str) -> bool:
    """True if *text* is exactly a dotted-quad IPv4 address (no leading zeros, no port).

    Examples:
        is_ipv4("10.0.0.1")  =>  true
        is_ipv4("10.0.0.01")  =>  false
        is_ipv4("::1")  =>  false
    """
    return type(parse_ip(text)) is IPv4


@builtin("network")
def is_ipv6(text: str) -> bool:
    """True if *text* is exactly an IPv6 address.

    Examples:
        is_ipv6("2001:db8::1")  =>  true
        is_ipv6("::ffff:1.2.3.4")  =>  true
        is_ipv6("10.0.0.1")  =>  false
    """
    return type(parse_ip(text)) is IPv6


@lru_cache(maxsize=1024)
def _parse_cidr(cidr: str):
    if "/" not in cidr or "%" in cidr or cidr != cidr.strip():
        return None
    addr_text, _, prefix = cidr.partition("/")
    if parse_ip(addr_text) is None or not prefix.isascii() or not prefix.isdigit():
        return None
    if len(prefix) > 1 and prefix.startswith("0"):
        return None
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


@builtin("network")
def is_in_cidr(ip: str, cidr: str) -> bool:
    """True if *ip* lies in the network *cidr* (``10.0.0.0/8``, ``2001:db8::/32``).

    An invalid address or network is an error.  Addresses of the other family are never inside.

    Examples:
        is_in_cidr("10.1.2.3", "10.0.0.0/8")  =>  true
        is_in_cidr("192.168.1.1", "10.0.0.0/8")  =>  false
        is_in_cidr("2001:db8::5", "2001:db8::/32")  =>  true
    """
    addr = parse_ip(ip)
    if addr is None:
        raise FunctionError(f"Invalid IP address: '{ip}'")
    net = _parse_cidr(cidr)
    if net is None:
        raise FunctionError(f"Invalid CIDR format: '{cidr}'")
    return addr.version == net.version and addr in net
