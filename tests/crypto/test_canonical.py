import jcs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airrc.crypto.canonical import b64decode, b64encode, canonical_bytes, parse_json
from airrc.errors import InputError

# NUL and unpaired surrogates are refused in every incoming JSON string, so values hold none.
texts = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=20,
)


def test_rfc8785_orders_keys_and_strips_whitespace():
    assert canonical_bytes({"b": 1, "a": [True, None, "é"]}) == b'{"a":[true,null,"\xc3\xa9"],"b":1}'


def test_rfc8785_number_forms():
    assert canonical_bytes([1.0, 0.1, 1e-7, -0.0, 9007199254740991.0]) == b"[1,0.1,1e-7,0,9007199254740991]"


@pytest.mark.parametrize(
    "value",
    [2**53, -(2**53), 2.0**53, 295147905179352830000.0, 1e21, -1.5e300, float("inf"), float("nan")],
)
def test_numbers_beyond_the_i_json_range_cannot_be_signed_in_any_form(value):
    with pytest.raises(InputError) as refused:
        canonical_bytes({"n": [value]})
    assert refused.value.code == "input.not_canonicalizable"


def test_parse_json_bounds_every_number_form_alike():
    # Within ±(2^63-1) every form parses; beyond it every form is refused, before storage sees it.
    assert parse_json(b"[9.2e18, 1e-400, 17, 1.7e1]", max_bytes=100) == [9.2e18, 0.0, 17, 17.0]
    for doc in (b"[1e400]", b"[-1e400]", b"[9.3e18]", b"[295147905179352830000000.0]"):
        with pytest.raises(InputError) as err:
            parse_json(doc, max_bytes=100)
        assert err.value.code == "input.number_out_of_range"
    for doc in (b"[NaN]", b"[Infinity]", b"[-Infinity]"):
        with pytest.raises(InputError) as err:
            parse_json(doc, max_bytes=100)
        assert err.value.code == "input.malformed_json"


finite_doubles = st.floats(min_value=-(2**53) + 1, max_value=2**53 - 1, allow_nan=False, allow_infinity=False)
wide_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | finite_doubles | wide_texts,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(wide_texts, children, max_size=4),
        max_leaves=25,
    )
)
def test_canonical_bytes_match_an_independent_jcs_implementation(value):
    # `jcs` (PyPI) is written from RFC 8785 independently of `rfc8785`, which we sign with.
    assert canonical_bytes(value) == jcs.canonicalize(value)


@given(json_values)
def test_canonical_is_stable_through_a_parse(value):
    first = canonical_bytes(value)
    assert canonical_bytes(parse_json(first, max_bytes=1 << 20)) == first


def test_parse_json_refuses_unpaired_surrogates_and_keeps_pairs():
    for doc in (b'{"a":"\\ud800"}', b'{"\\uDFFF":1}', b'["x", ["\\ud83d"]]', b'"\\ude00\\ud83d"'):
        with pytest.raises(InputError) as refused:
            parse_json(doc, max_bytes=100)
        assert refused.value.code == "input.lone_surrogate"
    assert parse_json(b'"\\ud83d\\ude00"', max_bytes=100) == "\U0001f600"
    # An escaped backslash before "u" is literal text, not a surrogate.
    assert parse_json(b'"\\\\ud800"', max_bytes=100) == "\\ud800"


def test_parse_json_refuses_malformed_duplicates_and_oversize():
    with pytest.raises(InputError) as bad:
        parse_json(b"{not json", max_bytes=100)
    assert bad.value.code == "input.malformed_json"
    with pytest.raises(InputError) as dup:
        parse_json(b'{"a":1,"a":2}', max_bytes=100)
    assert dup.value.code == "input.malformed_json"
    with pytest.raises(InputError) as big:
        parse_json(b"[" + b"1," * 100 + b"1]", max_bytes=50)
    assert big.value.code == "input.too_large"


def test_parse_json_refuses_out_of_range_integers_and_nul():
    assert parse_json(b"[9223372036854775807, -9223372036854775807]", max_bytes=100) == [
        2**63 - 1,
        -(2**63) + 1,
    ]
    for doc in (b"[9223372036854775808]", b"[" + b"9" * 5000 + b"]", b'{"a": -99999999999999999999}'):
        with pytest.raises(InputError) as err:
            parse_json(doc, max_bytes=10_000)
        assert err.value.code == "input.number_out_of_range"
    with pytest.raises(InputError) as nul:
        parse_json(b'{"a": "x\\u0000"}', max_bytes=100)
    assert nul.value.code == "input.nul_character"
    assert parse_json(b'{"a": "x\\\\u0000"}', max_bytes=100) == {"a": "x\\u0000"}


def test_base64_is_strict():
    assert b64decode(b64encode(b"\x00\xff")) == b"\x00\xff"
    for bad in ("abc", "ab!=", "YWJj\n"):
        with pytest.raises(InputError) as err:
            b64decode(bad)
        assert err.value.code == "input.bad_base64"
