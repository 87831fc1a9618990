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


# -- secrets that were never registered: connection strings typed into the wrong place ------

#: ``scheme://user:SECRET@...``: the user part (an access key id) is an identifier and stays.
#: The user may hold '@' (a GCS service-account e-mail); the password runs to the last '@'.
_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*:/{1,3}[^\s'\"/:]*:)([^\s'\"]+)(?=@)")
#: ``?sig=...``, ``&X-Amz-Security-Token=...``, ``;AccountKey=...`` and other secret fields.
_SECRET_FIELD = re.compile(
    r"(?i)((?:^|(?<=[?&;\s'\"]))(?:sig|signature|x-amz-signature|x-goog-signature|"
    r"x-amz-security-token|x-amz-credential-secret|secret|secret_?key|secret_?access_?key|"
    r"session_?token|sas|sas_?token|account_?key|shared_?access_?signature|password|"
    r"private_?key|client_?secret|hmac_?secret)=)([^&;\s'\"]+)"
)


def redact_connection_strings(text: str) -> str:
    """`text` with the secret parts of anything shaped like a connection string blanked.

    For error messages, where a secret may arrive that byob never parsed (a connection
    string given to the wrong option): the password of ``scheme://user:password@host``
    and the values of secret query or connection-string fields (``sig``, ``AccountKey``,
    ``secret_key``, ...). Registered secrets are removed as by `redact`.

    >>> redact_connection_strings("invalid choice: 's3://AKIA1:wJalr/XUt@host/b?sig=abc&x=1'")
    "invalid choice: 's3://AKIA1:***@host/b?sig=***&x=1'"
    """
    if not text:
        return text
    text = redact(text)
    if ":/" in text:  # a path may have folded "://" into ":/"
        text = _USERINFO.sub(lambda m: m.group(1) + REDACTED, text)
    if "=" in text:
        text = _SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    return text
