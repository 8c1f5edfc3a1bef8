"""Cookie signing, byte-for-byte the ``cookie-signature`` scheme express-session uses.

A signed value is ``value + "." + base64(HMAC-SHA256(secret, value))`` with the ``=``
padding stripped, so a cookie signed here verifies in Node and the other way round.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence

__all__ = ["sign", "unsign", "as_secret_list", "Signer"]


def as_secret_list(secrets: str | Sequence[str]) -> list[str]:
    """Normalise one secret or a list of them; the first signs, all verify."""
    secret_list = [secrets] if isinstance(secrets, str) else list(secrets)
    if not secret_list or not all(isinstance(s, str) and s for s in secret_list):
        raise ValueError("secret must be a non-empty string or a non-empty list of them")
    return secret_list


def sign(value: str, secret: str) -> str:
    """Return ``value`` with its HMAC-SHA256 signature under ``secret`` appended."""
    mac = hmac.digest(secret.encode(), value.encode("utf-8", "surrogatepass"), "sha256")
    return value + "." + base64.b64encode(mac).decode("ascii").rstrip("=")


def unsign(signed: str, secrets: str | Sequence[str]) -> str | None:
    """Return the value inside ``signed`` if any secret signed it, else ``None``.

    Every secret is tried, so a list lets old cookies verify while a new secret signs.
    The comparison is constant-time in the signature, as ``cookie-signature``'s is.
    """
    value, dot, _ = signed.rpartition(".")
    if not dot:
        return None
    received = signed.encode("utf-8", "surrogatepass")
    for secret in [secrets] if isinstance(secrets, str) else secrets:
        expected = sign(value, secret).encode("utf-8", "surrogatepass")
        if hmac.compare_digest(expected, received):
            return value
    return None


class Signer:
    """``sign`` and ``unsign`` for a fixed list of secrets, each HMAC key prepared once.

    The same scheme and bytes as the functions above; what changes is cost: a copy of a
    keyed HMAC skips the key schedule and the digest lookup that ``hmac.digest`` repeats on
    every call, and this runs on every request that carries a cookie.
    """

    __slots__ = ("_macs",)

    def __init__(self, secrets: str | Sequence[str]) -> None:
        self._macs = [
            hmac.new(secret.encode(), digestmod="sha256") for secret in as_secret_list(secrets)
        ]

    def _signature(self, mac: hmac.HMAC, value: str) -> bytes:
        mac = mac.copy()
        mac.update(value.encode("utf-8", "surrogatepass"))
        return binascii.b2a_base64(mac.digest(), newline=False).rstrip(b"=")

    def sign(self, value: str) -> str:
        """``sign(value, secrets[0])``."""
        return value + "." + self._signature(self._macs[0], value).decode("ascii")

    def unsign(self, signed: str) -> tuple[str | None, bool]:
        """``unsign(signed, secrets)``, and whether the first (current) secret signed it."""
        value, dot, signature = signed.rpartition(".")
        if not dot:
            return None, False
        received = signature.encode("utf-8", "surrogatepass")
        for index, mac in enumerate(self._macs):
            if hmac.compare_digest(self._signature(mac, value), received):
                return value, index == 0
        return None, False
