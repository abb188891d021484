"""Property tests: the fast pseudonym path equals the plain reference; text helpers never raise."""
from hypothesis import given, settings
from hypothesis import strategies as st

from kelora import keyring as K
from kelora.builtins.extract import extract_domain, extract_email, extract_ip, extract_url, parse_email
from kelora.builtins.network import is_ipv4, is_ipv6, is_private_ip, mask_ip
from kelora.builtins.normalize import normalized

from .conftest import BENCH_SECRET

MASTER = K.master_for(BENCH_SECRET.encode())
KEYRING = K.Keyring(MASTER, K.SOURCE_ENV, cache_limit=64)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=200, deadline=None)
@given(value=text, domain=text.filter(bool))
def test_fast_token_equals_reference(value, domain):
    tok = KEYRING.token(value, domain)
    assert tok == K.reference_token(MASTER, value, domain)
    assert len(tok) == 24


@settings(max_examples=200, deadline=None)
@given(s=st.one_of(text, st.ip_addresses().map(str)), n=st.integers(-3, 10))
def test_ip_helpers_total(s, n):
    out = mask_ip(s, n)
    assert isinstance(out, str)
    if is_ipv4(s) or is_ipv6(s):
        assert is_ipv4(out) == is_ipv4(s) and is_ipv6(out) == is_ipv6(s)
    else:
        assert out == s
    assert isinstance(is_private_ip(s), bool)


@settings(max_examples=150, deadline=None)
@given(s=text, n=st.integers(-4, 4))
def test_extractors_total(s, n):
    for fn in (extract_email, extract_ip, extract_url):
        assert isinstance(fn(s, n), str)
    assert isinstance(extract_domain(s), str)
    assert isinstance(parse_email(s), dict)
    assert isinstance(normalized(s), str)
