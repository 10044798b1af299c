"""SS58 addresses: decode with checksum check, re-encode under another prefix.

Autonomys uses prefix 6094 (``su…``); testnets before 2024-10 used 2254 (``st…``). The same
32-byte public key encodes under either, so a legacy address is accepted and shown as ``su…``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

AUTONOMYS_PREFIX = 6094
LEGACY_PREFIX = 2254
ACCEPTED_PREFIXES = frozenset({AUTONOMYS_PREFIX, LEGACY_PREFIX})

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: i for i, char in enumerate(_ALPHABET)}
_CHECKSUM_PREFIX = b"SS58PRE"
_PUBLIC_KEY_BYTES = 32
_CHECKSUM_BYTES = 2


class AddressError(ValueError):
    """An address that is not a valid SS58 account address; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Decoded:
    prefix: int
    public_key: bytes


def _b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise AddressError(f"contains {char!r}, which is not a base58 character")
        number = number * 58 + _INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body


def _b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    chars: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        chars.append(_ALPHABET[rest])
    leading_zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading_zeros + "".join(reversed(chars))


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(_CHECKSUM_PREFIX + payload, digest_size=64).digest()[:_CHECKSUM_BYTES]


def _prefix_bytes(prefix: int) -> bytes:
    if not 0 <= prefix < 16384 or prefix in (46, 47):
        raise AddressError(f"{prefix} is not a usable SS58 prefix")
    if prefix < 64:
        return bytes([prefix])
    first = ((prefix & 0b1111_1100) >> 2) | 0b0100_0000
    second = (prefix >> 8) | ((prefix & 0b11) << 6)
    return bytes([first, second])


def decode(address: str) -> Decoded:
    """The prefix and public key of an SS58 account address; :class:`AddressError` if invalid."""
    text = address.strip()
    if not text:
        raise AddressError("is empty")
    raw = _b58decode(text)
    if not raw:
        raise AddressError("is empty")
    if raw[0] & 0b0100_0000:
        if len(raw) < 2:
            raise AddressError("is too short")
        prefix = ((raw[0] & 0b0011_1111) << 2) | (raw[1] >> 6) | ((raw[1] & 0b0011_1111) << 8)
        prefix_len = 2
    else:
        prefix = raw[0]
        prefix_len = 1
    key_len = len(raw) - prefix_len - _CHECKSUM_BYTES
    if key_len != _PUBLIC_KEY_BYTES:
        raise AddressError(
            f"has a {max(key_len, 0)}-byte key; an account address has 32 (is it cut short?)"
        )
    payload, checksum = raw[:-_CHECKSUM_BYTES], raw[-_CHECKSUM_BYTES:]
    if _checksum(payload) != checksum:
        raise AddressError("has a wrong checksum (a typo, or a character missing)")
    return Decoded(prefix, payload[prefix_len:])


def encode(public_key: bytes, prefix: int = AUTONOMYS_PREFIX) -> str:
    """The SS58 address of a 32-byte public key under ``prefix``."""
    if len(public_key) != _PUBLIC_KEY_BYTES:
        raise AddressError(f"a public key has 32 bytes, got {len(public_key)}")
    payload = _prefix_bytes(prefix) + public_key
    return _b58encode(payload + _checksum(payload))


def normalize(address: str) -> str:
    """A ``su…`` address for a valid ``su…`` or legacy ``st…`` address; raises otherwise."""
    decoded = decode(address)
    if decoded.prefix not in ACCEPTED_PREFIXES:
        raise AddressError(
            f"is an address for another network (SS58 prefix {decoded.prefix}); "
            f"Autonomys addresses start with su (prefix {AUTONOMYS_PREFIX})"
        )
    return encode(decoded.public_key, AUTONOMYS_PREFIX)


def public_key_of(address: str) -> bytes:
    return decode(address).public_key


def account_to_address(account: str | bytes) -> str:
    """A decoded ``AccountId32`` (``0x…`` hex, bytes, or an SS58 string) as a ``su…`` address."""
    if isinstance(account, bytes):
        return encode(account)
    if account.startswith("0x"):
        try:
            key = bytes.fromhex(account[2:])
        except ValueError as exc:
            raise AddressError(f"{account!r} is not hex") from exc
        return encode(key)
    return encode(decode(account).public_key)
