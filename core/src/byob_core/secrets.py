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
