"""The registry of secret values that must never be printed, and the redaction of text."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
# Anything shorter is too likely to be an ordinary word to be worth redacting by value.
_MIN_LEN = 6


def register(values: Iterable[str | None]) -> None:
    """Remember secret values so that `redact` removes them, raw or URL-encoded, everywhere."""
    global _pattern
    fresh: set[str] = set()
    for value in values:
        if not value or len(value) < _MIN_LEN:
            continue
        variants = {
            value,
            quote(value, safe=""),
            quote(value, safe="/"),
            value.replace("\n", "\\n"),
        }
        # A PEM key is long; its base64 body lines are what leaks in practice.
        if "-----BEGIN" in value:
            variants.update(line for line in value.splitlines() if len(line) >= 16)
        fresh.update(v for v in variants if v not in _secrets)
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        # Compiled lazily by `redact`: recompiling here made registering n secrets O(n²).
        _pattern = None


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _secrets:
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return _pattern


def redact(text: str) -> str:
    """Return `text` with every registered secret replaced by ``***``."""
    if not text:
        return text
    pattern = _pattern or _compiled()
    if pattern is None:
        return text
    return pattern.sub(REDACTED, text)


def known() -> frozenset[str]:
    """The registered secret values (for tests that scan output)."""
    with _lock:
        return frozenset(_secrets)


#: Query parameters of a signed URL that let anyone holding it act: the signature, and
#: a session token the URL must carry. Identifiers (``X-Amz-Credential``) stay readable.
_URL_SECRETS = re.compile(
    r"(?i)([?&](?:X-Amz-Signature|X-Amz-Security-Token|X-Goog-Signature|sig|Signature"
    r"|x-goog-security-token)=)[^&#\s\"']*"
)


def redact_signed_url(text: str) -> str:
    """`text` with the signature and session token of every signed URL in it blanked.

    For logs and error messages. The CLI prints signed URLs verbatim on stdout: there
    the URL is the product, and a session token it carries belongs to it.

    >>> redact_signed_url("https://h/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ab12")
    'https://h/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=***'
    """
    if not text or "=" not in text:
        return text
    return _URL_SECRETS.sub(lambda m: m.group(1) + REDACTED, text)
