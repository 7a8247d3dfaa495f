"""Type stubs of ``caio_verify``: offline CAIO-v2 license verification."""

import datetime
from typing import Any, Dict, Iterable, List, Optional, Union

__all__ = ["License", "InvalidLicense", "verify", "verify_many", "keyring", "DEFAULT_LEEWAY"]

DEFAULT_LEEWAY: int
Instant = Union[int, datetime.datetime, None]

class License:
    """A license whose signature and windows held (only ``verify`` makes one)."""

    @property
    def lid(self) -> str: ...
    @property
    def sub(self) -> str: ...
    @property
    def iat(self) -> int: ...
    @property
    def nbf(self) -> Optional[int]: ...
    @property
    def exp(self) -> Optional[int]:
        """Unix seconds; ``None`` for a license that never expires."""
    @property
    def features(self) -> List[str]: ...
    @property
    def seats(self) -> Optional[int]: ...
    @property
    def key_id(self) -> str:
        """The id of the key that signed it, e.g. ``caio-2026-11``."""
    @property
    def kid(self) -> str:
        """That key's fingerprint, ``sha256:<hex>``."""
    @property
    def source(self) -> str:
        """``embedded``, or ``runtime`` for the key ``CAIO_LICENSE_PUBLIC_KEY`` added."""
    @property
    def payload(self) -> Dict[str, Any]:
        """The signed payload, every field (a new dict on each access)."""

class InvalidLicense(ValueError):
    """A license was refused: ``reason`` is the stable code, ``detail`` the why."""

    reason: str
    detail: str
    kid: Optional[str]
    def __init__(self, reason: str, detail: str, kid: Optional[str] = ...) -> None: ...

def verify(token: str, *, at: Instant = ..., leeway: int = ...) -> License: ...
def verify_many(
    tokens: Iterable[str], *, at: Instant = ..., leeway: int = ...
) -> List[Union[License, InvalidLicense]]: ...
def keyring() -> Dict[str, Any]: ...
