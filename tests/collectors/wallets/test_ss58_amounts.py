"""Pure helpers: SS58 addresses and AI3 formatting (no chain files needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from substrateinterface.utils import ss58 as reference

from collectors.chain import ss58
from collectors.chain.amounts import to_planck
from collectors.format import ai3 as format_ai3

KEY = bytes(range(32))


def test_encode_matches_the_reference_implementation_for_both_prefixes() -> None:
    for prefix in (0, 42, 2254, 6094):
        assert ss58.encode(KEY, prefix) == reference.ss58_encode(KEY, prefix)


def test_autonomys_addresses_start_with_su_and_legacy_with_st() -> None:
    assert ss58.encode(KEY, 6094).startswith("su")
    assert ss58.encode(KEY, 2254).startswith("st")


def test_legacy_address_normalizes_to_the_same_key_under_6094() -> None:
    legacy = ss58.encode(KEY, 2254)
    assert ss58.normalize(legacy) == ss58.encode(KEY, 6094)
    assert ss58.public_key_of(legacy) == KEY


def test_checksum_typo_is_rejected_with_a_reason() -> None:
    good = ss58.encode(KEY, 6094)
    swapped = good[:-1] + ("a" if good[-1] != "a" else "b")
    with pytest.raises(ss58.AddressError, match="checksum"):
        ss58.decode(swapped)


def test_other_network_and_garbage_are_rejected() -> None:
    with pytest.raises(ss58.AddressError, match="prefix 42"):
        ss58.normalize(ss58.encode(KEY, 42))
    with pytest.raises(ss58.AddressError, match="base58"):
        ss58.decode("su0OIl")
    with pytest.raises(ss58.AddressError, match="32"):
        ss58.decode(ss58.encode(KEY, 6094)[:-5])
    with pytest.raises(ss58.AddressError, match="empty"):
        ss58.decode("  ")


def test_account_ids_in_any_decoded_form_become_su_addresses() -> None:
    su = ss58.encode(KEY, 6094)
    assert ss58.account_to_address("0x" + KEY.hex()) == su
    assert ss58.account_to_address(KEY) == su
    assert ss58.account_to_address(ss58.encode(KEY, 42)) == su


@given(st.binary(min_size=32, max_size=32), st.sampled_from([2254, 6094, 42, 0, 16383]))
def test_round_trip(key: bytes, prefix: int) -> None:
    decoded = ss58.decode(ss58.encode(key, prefix))
    assert (decoded.prefix, decoded.public_key) == (prefix, key)


@pytest.mark.parametrize(
    ("planck", "shown"),
    [
        (0, "0 AI3"),
        (10**18, "1 AI3"),
        (1_234_500_000_000_000_000_000, "1,234.5 AI3"),
        (123_456_789 * 10**18, "123,456,789 AI3"),
        (1_000_049_999_999_999_999, "1 AI3"),
        (1_000_050_000_000_000_001, "1.0001 AI3"),
        (10**13, "0.00001 AI3"),
        (123_456_000_000_000_000, "0.1235 AI3"),
        (1, "0.000000000000000001 AI3"),
        (-25 * 10**17, "-2.5 AI3"),
        (2**127, "170,141,183,460,469,231,731.6873 AI3"),
    ],
)
def test_format_ai3(planck: int, shown: str) -> None:
    assert format_ai3(planck) == shown


def test_format_without_symbol_and_to_planck() -> None:
    assert format_ai3(15 * 10**17, symbol=False) == "1.5"
    assert to_planck(100.0) == 100 * 10**18
    assert to_planck("0.00001") == 10**13
    assert to_planck(0.1) == 10**17
    with pytest.raises(ValueError, match="not an amount"):
        to_planck("lots")
