"""Offline CAIO-v2 license verification, with the keyring embedded at build time.

The keys this package trusts were compiled into its extension module from the release's
``keys/keyring.toml`` (the same block, checked by the same release gate, as in the
``caio-verify`` command), so verifying needs no file, no network and no configuration::

    import caio_verify
    lic = caio_verify.verify(token)          # raises caio_verify.InvalidLicense
    print(lic.sub, lic.features, lic.exp)

``CAIO_LICENSE_PUBLIC_KEY`` adds one runtime key as far as the embedded
``runtime_override`` policy allows (``deny`` ignores it, ``endorsed`` accepts a key
endorsement signed by an embedded key, ``allow`` also a plain SPKI PEM), exactly as for
the command: the value is the key text, or the path of a file holding it. It is read
once, at the first call that needs the keys (``verify``, ``verify_many``, ``keyring``,
``python -m caio_verify``); a rejected value changes nothing. ``keyring()`` shows
whether it was accepted (a key with ``"source": "runtime"``).

Verification releases the GIL; ``verify_many`` verifies a list across every core.
``python -m caio_verify license TOKEN|-`` prints what ``caio-verify license`` prints.
Not here: issuing licenses or managing keys (that is ``cargo xtask``'s job).
"""

from __future__ import annotations

import datetime as _dt
import json as _json
from typing import Iterable, List, Optional, Union

from . import _native
from ._native import License

__all__ = ["License", "InvalidLicense", "verify", "verify_many", "keyring", "DEFAULT_LEEWAY"]

#: Seconds of clock skew forgiven on a license's ``iat``, ``nbf`` and ``exp``.
DEFAULT_LEEWAY = 300

Instant = Union[int, _dt.datetime, None]


class InvalidLicense(ValueError):
    """A license was refused.

    ``reason`` is the stable reason code (``bad_signature``, ``expired``, ``unknown_key``,
    ... as ``caio-verify license --json`` reports it), ``detail`` says what exactly was
    wrong, and ``kid`` is the key fingerprint the token names, once known.
    """

    def __init__(self, reason: str, detail: str, kid: Optional[str] = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.kid = kid


def _seconds(at: Instant) -> Optional[int]:
    if at is None:
        return None
    if isinstance(at, bool):
        raise TypeError("at: expected unix seconds (int), an aware datetime or None, not bool")
    if isinstance(at, int):
        return at
    if isinstance(at, _dt.datetime):
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("at: a naive datetime has no instant; give it a tzinfo (e.g. UTC)")
        return int(at.timestamp() // 1)
    raise TypeError(f"at: expected unix seconds (int), an aware datetime or None, not {type(at).__name__}")


def _leeway(leeway: int) -> int:
    if isinstance(leeway, bool) or not isinstance(leeway, int) or leeway < 0:
        raise ValueError(f"leeway: expected a number of seconds >= 0, not {leeway!r}")
    return leeway


def _result(verdict: object) -> Union[License, InvalidLicense]:
    if isinstance(verdict, License):
        return verdict
    return InvalidLicense(verdict.reason, verdict.detail, verdict.kid)  # type: ignore[attr-defined]


def verify(token: str, *, at: Instant = None, leeway: int = DEFAULT_LEEWAY) -> License:
    """Verify one CAIO-v2 license (``CAIO-v2.PAYLOAD.SIGNATURE``).

    ``at`` is the instant to verify at: unix seconds, an aware ``datetime``, or ``None``
    for now. ``leeway`` forgives that much clock skew on the license's dates (not on the
    key's windows). Returns the verified ``License``; raises ``InvalidLicense`` otherwise.
    """
    result = _result(_native.verify(token, _seconds(at), _leeway(leeway)))
    if isinstance(result, InvalidLicense):
        raise result
    return result


def verify_many(
    tokens: Iterable[str], *, at: Instant = None, leeway: int = DEFAULT_LEEWAY
) -> List[Union[License, InvalidLicense]]:
    """Verify every token across every core, the GIL released.

    Returns one item per token, in order: the ``License``, or the ``InvalidLicense`` that
    ``verify`` would have raised (returned, not raised).
    """
    verdicts = _native.verify_many(list(tokens), _seconds(at), _leeway(leeway))
    return [_result(v) for v in verdicts]


def keyring() -> dict:
    """The keys this package trusts: the object ``caio-verify keyring --json`` prints.

    ``fingerprint``, ``serial``, ``channel``, ``runtime_override``, ``keys`` (each with
    ``id``, ``algorithm``, ``fingerprint``, ``not_before``, ``sign_until``, ``not_after``
    and ``source``) and ``revoked``. Raises ``RuntimeError`` if the embedded block is
    corrupt (every license is then refused as ``keyring_corrupt``).
    """
    return _json.loads(_native.keyring_json())
