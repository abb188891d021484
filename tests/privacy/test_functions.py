"""hash/bucket, IP helpers, extraction, parse_email, normalized: reference edge cases."""
import pytest

from kelora.builtins.extract import (
    extract_domain, extract_email, extract_emails, extract_ip, extract_ips, extract_regex,
    extract_regexes, extract_url, extract_urls, parse_email,
)
from kelora.builtins.network import is_in_cidr, is_ipv4, is_ipv6, is_private_ip, mask_ip
from kelora.builtins.normalize import is_valid_luhn, is_valid_ssn, normalized
from kelora.builtins.privacy import bucket, hash_
from kelora.errors import FunctionError

from .conftest import make_ctx


# ---------------------------------------------------------------- hash / bucket

@pytest.mark.parametrize("algo,length", [
    ("sha256", 64), ("sha512", 128), ("sha1", 40), ("md5", 32), ("blake3", 64),
    ("xxh3", 16), ("xxh64", 16), ("xxh128", 32),
])
def test_hash_lengths(algo, length):
    h = hash_("hello", algo)
    assert len(h) == length and h == h.lower()
    assert hash_("hello", algo.upper()) == h


def test_hash_vectors():
    assert hash_("hello") == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert hash_("hello", "xxh3") == "9555e8555c62dcfd"
    assert hash_("test", "xxh3") == "9ec9f7918d7dfc40"
    assert hash_("", "xxh3") == "2d06800538d394c2"  # zero padded to 16
    assert hash_("hello", "blake3") == "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"
    assert hash_(1.5) == hash_("1.5") and hash_(7) == hash_("7")


def test_hash_unknown_algorithm_lists_supported():
    with pytest.raises(FunctionError) as ei:
        hash_("x", "crc32")
    assert str(ei.value) == (
        "Unknown hash algorithm 'crc32'. Supported: sha256, sha512, sha1, md5, blake3, xxh3, xxh64, xxh128"
    )


def test_hash_unit_is_missing_field():
    with pytest.raises(FunctionError) as ei:
        hash_(None)
    assert ei.value.missing_field


def test_bucket_signed():
    assert bucket("hello") == -7685981735718036227
    assert bucket("alice") == 5593767425381308080
    assert bucket(5) == bucket("5")
    with pytest.raises(FunctionError):
        bucket(None)


# ---------------------------------------------------------------- network

@pytest.mark.parametrize("ip,n,out", [
    ("192.168.1.42", 1, "192.168.1.0"),
    ("192.168.1.42", 2, "192.168.0.0"),
    ("192.168.1.42", 4, "0.0.0.0"),
    ("192.168.1.42", 9, "0.0.0.0"),
    ("192.168.1.42", -3, "192.168.1.0"),
    ("2001:db8:85a3::8a2e:370:7334", 1, "2001:db8:85a3::8a2e:370:0"),
    ("2001:db8:85a3::8a2e:370:7334", 2, "2001:db8:85a3::8a2e:0:0"),
    ("2001:db8:85a3:1:1:8a2e:370:7334", 3, "2001:db8:85a3:1:1::"),
    ("2001:db8::1", 8, "::"),
    ("::1", 1, "::"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", 1, "2001:db8::"),
    ("1:0:1:1:1:1:1:1", 1, "1:0:1:1:1:1:1:0"),  # a single zero group is not compressed
    ("::ffff:1.2.3.4", 1, "::ffff:1.2.0.0"),
    ("", 1, ""),
    ("1.2.3.4:80", 1, "1.2.3.4:80"),
    ("01.2.3.4", 1, "01.2.3.4"),
    ("1.2.3", 1, "1.2.3"),
    ("256.1.1.1", 1, "256.1.1.1"),
    ("fe80::1%eth0", 1, "fe80::1%eth0"),
    (" 1.2.3.4", 1, " 1.2.3.4"),
])
def test_mask_ip(ip, n, out):
    assert mask_ip(ip, n) == out


def test_ip_predicates():
    assert is_ipv4("1.2.3.4") and not is_ipv4("1.2.3.04") and not is_ipv4("1.2.3.4/8")
    assert is_ipv6("::") and is_ipv6("2001:db8::1") and not is_ipv6("2001:db8::1%1")
    assert not is_ipv6("1.2.3.4") and not is_ipv4("")
    for ip in ("10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "127.0.0.1",
               "fc00::1", "fdff::1", "fe80::1", "::1"):
        assert is_private_ip(ip), ip
    for ip in ("172.32.0.1", "8.8.8.8", "11.0.0.1", "2001:db8::1", "::", "x", "169.254.1.1"):
        assert not is_private_ip(ip), ip


def test_is_in_cidr():
    assert is_in_cidr("10.1.2.3", "10.0.0.0/8")
    assert is_in_cidr("10.1.2.3", "10.1.2.0/24")
    assert is_in_cidr("10.1.2.3", "10.1.2.99/24")  # host bits allowed
    assert not is_in_cidr("10.1.2.3", "10.1.3.0/24")
    assert is_in_cidr("2001:db8::5", "2001:db8::/32")
    assert not is_in_cidr("10.1.2.3", "::/0")
    assert is_in_cidr("1.2.3.4", "0.0.0.0/0")


@pytest.mark.parametrize("ip,cidr,msg", [
    ("nope", "10.0.0.0/8", "Invalid IP address: 'nope'"),
    ("10.0.0.1", "10.0.0.0", "Invalid CIDR format: '10.0.0.0'"),
    ("10.0.0.1", "10.0.0.0/33", "Invalid CIDR format: '10.0.0.0/33'"),
    ("10.0.0.1", "bogus/8", "Invalid CIDR format: 'bogus/8'"),
    ("10.0.0.1", "", "Invalid CIDR format: ''"),
])
def test_is_in_cidr_errors(ip, cidr, msg):
    with pytest.raises(FunctionError) as ei:
        is_in_cidr(ip, cidr)
    assert str(ei.value) == msg


# ---------------------------------------------------------------- extraction

TEXT = "mail ann@example.com, then bob.smith+x@mail.example.org; not me@x"


def test_extract_email_nth():
    assert extract_email(TEXT) == "ann@example.com"
    assert extract_email(TEXT, 2) == "bob.smith+x@mail.example.org"
    assert extract_email(TEXT, -1) == "bob.smith+x@mail.example.org"
    assert extract_email(TEXT, -2) == "ann@example.com"
    assert extract_email(TEXT, -3) == ""
    assert extract_email(TEXT, 3) == ""
    assert extract_email(TEXT, 0) == ""
    assert extract_email("") == ""
    assert extract_emails(TEXT) == ["ann@example.com", "bob.smith+x@mail.example.org"]


def test_extract_ip():
    t = "from 10.0.0.1 to 256.1.1.1 and 192.168.001.1 via 2001:db8::1 and 1.2.3.4"
    assert extract_ip(t) == "10.0.0.1"
    assert extract_ips(t) == ["10.0.0.1", "192.168.001.1", "1.2.3.4"]
    assert extract_ip(t, -1) == "1.2.3.4"
    assert extract_ip("none") == ""


def test_extract_url():
    t = 'go to https://example.com/a?b=1, or http://x.org/p!. Or "https://q.io/z"'
    assert extract_urls(t) == ["https://example.com/a?b=1", "http://x.org/p", "https://q.io/z"]
    assert extract_url(t, 2) == "http://x.org/p"
    assert extract_url("ftp://nope") == ""


def test_extract_domain():
    assert extract_domain("see https://user@api.example.com:8443/x") == "user@api.example.com:8443"
    assert extract_domain("a@b.example.com then https://c.org") == "c.org"
    assert extract_domain("a@b.example.com") == "b.example.com"
    assert extract_domain("") == ""


def test_extract_regex_groups_and_invalid():
    ctx, rec = make_ctx({})
    assert extract_regex(ctx, "k=v", "(\\w)=(\\w)") == "k"
    assert extract_regex(ctx, "k=v", "(\\w)=(\\w)", 0) == "k=v"
    assert extract_regex(ctx, "k=v", "(\\w)=(\\w)", -5) == "k=v"
    assert extract_regex(ctx, "k=v", "(\\w)=(\\w)", 3) == ""
    assert extract_regex(ctx, "k=", "(\\w)=(\\w)?", 2) == ""
    assert extract_regex(ctx, "ab", "(?<first>a)b") == "a"  # Rust named-group syntax
    assert extract_regex(ctx, "abc", "[") == ""
    assert extract_regex(ctx, "abc", "[") == ""
    assert extract_regexes(ctx, "abc", "[") == []
    assert len(rec.warnings) == 1 and rec.warnings[0].startswith("invalid regex '[': ")
    assert not rec.warnings[0].startswith("kelora")
    assert extract_regexes(ctx, "a1 b c3", "(\\w)(\\d)?") == [["a", "1"], ["b", ""], ["c", "3"]]
    assert extract_regexes(ctx, "a1 b2", "\\d", 5) == ["", ""]


# ---------------------------------------------------------------- parse_email

@pytest.mark.parametrize("text,out", [
    ("ann@example.com", {"local": "ann", "domain": "example.com"}),
    ("  Ann.Lee+tag@Example.COM  ", {"local": "Ann.Lee+tag", "domain": "Example.COM"}),
    ('"john doe"@example.com', {"local": "john doe", "domain": "example.com"}),
    ('"a\\"b"@example.com', {"local": 'a"b', "domain": "example.com"}),
    ("o'brien!#$%&*/=?^_`{|}~-@x.io", {"local": "o'brien!#$%&*/=?^_`{|}~-", "domain": "x.io"}),
    ("user@localhost", {"local": "user", "domain": "localhost"}),
    ("Ann Lee <ann@example.com>", {"local": "ann", "domain": "example.com", "name": "Ann Lee"}),
    ('"Lee, Ann" <ann@example.com>', {"local": "ann", "domain": "example.com", "name": "Lee, Ann"}),
    ("<ann@example.com>", {"local": "ann", "domain": "example.com"}),
])
def test_parse_email_valid(text, out):
    assert parse_email(text) == out


@pytest.mark.parametrize("text", [
    "", "plain", "a@b@c.com", "@example.com", "ann@", ".ann@x.com", "ann.@x.com", "a..b@x.com",
    "an n@x.com", "ann@-x.com", "ann@x-.com", "ann@x..com", "ann@x_y.com", "Ann <bad>",
    "Ann <a@b.com", "ann@exa mple.com",
])
def test_parse_email_invalid(text):
    assert parse_email(text) == {}


# ---------------------------------------------------------------- normalized

def test_normalized_defaults():
    t = ("GET /api/v1/users from 10.1.2.3:443 by ann@example.com req "
         "550e8400-e29b-41d4-a716-446655440000 mac 00:1a:2b:3c:4d:5e color #ff00aa ver v1.2.3")
    out = normalized(t)
    for ph in ("<path>", "<ipv4_port>", "<email>", "<uuid>", "<mac>", "<hexcolor>", "<version>"):
        assert ph in out, (ph, out)
    assert "10.1.2.3" not in out and "ann@" not in out


def test_normalized_placeholders_are_not_rematched():
    assert normalized("host 10.0.0.1 up", "ipv4,fqdn,num") == "host <ipv4> up"
    assert normalized("visit https://a.example.com/x now") == "visit <url> now"


def test_normalized_patterns_as_array_and_opt_in():
    assert normalized("took 250ms and 3 retries", ["duration", "num"]) == "took <duration> and <num> retries"
    assert normalized("id 0xdeadBEEF", "hexnum") == "id <hexnum>"
    assert normalized("count 42", ["ipv4"]) == "count 42"
    assert normalized("ip 1.2.3.4", "ipv4, ") == "ip <ipv4>"
    assert normalized("ip 1.2.3.4", "") == "ip 1.2.3.4"


def test_normalized_credit_card_luhn():
    assert normalized("cc 4111-1111-1111-1111 ok", "credit_card") == "cc <credit_card> ok"
    assert normalized("cc 4111 1111 1111 1112 ok", "credit_card") == "cc 4111 1111 1111 1112 ok"
    assert is_valid_luhn("79927398713") is False  # 11 digits: too short for a card
    assert is_valid_luhn("4012888888881881") and not is_valid_luhn("0000000000000000")


@pytest.mark.parametrize("ssn,ok", [
    ("123-45-6789", True), ("000-12-3456", False), ("666-12-3456", False), ("900-12-3456", False),
    ("999-12-3456", False), ("123-00-4567", False), ("123-45-0000", False), ("899-99-9999", True),
])
def test_normalized_ssn_rules(ssn, ok):
    assert is_valid_ssn(ssn) is ok
    assert normalized(f"ssn {ssn}", "ssn") == ("ssn <ssn>" if ok else f"ssn {ssn}")


def test_normalized_phone():
    assert normalized("call (212) 555-7890", "phone") == "call <phone>"
    assert normalized("call 555-010-1234", "phone") == "call 555-010-1234"  # exchange starts 0


def test_normalized_map_and_errors():
    assert normalized({"a": "ip 1.2.3.4", "b": [1, "x@y.com"], "c": {"d": "1.1.1.1"}}) == {
        "a": "ip <ipv4>", "b": [1, "<email>"], "c": {"d": "<ipv4>"}
    }
    with pytest.raises(FunctionError) as ei:
        normalized("x", "ipv4,nope")
    assert "nope" in str(ei.value) and "credit_card" in str(ei.value)
    with pytest.raises(FunctionError):
        normalized("x", 5)
