"""Object keys under a store's sub-path, and the guard that refuses any key that would escape it.

Every code path (I/O, signing, listing, garbage collection, byob://) goes through
`join` on the way in and `relative` on the way out.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from byob_core.errors import UnsafeKeyError

#: The prefix, inside every sub-path, that byob keeps for itself (probe objects, markers).
RESERVED = ".byob"

_FIX = "give a relative key such as 'runs/abc/file.bin'"
#: Exactly Unicode category Cc (C0, DEL, C1): a regex scan is far cheaper than
#: unicodedata.category per character, and this guard runs on every key GC lists.
#: The same scan finds lone surrogates: not Unicode text, they cannot be encoded as UTF-8,
#: so no signer or SDK can send them (they passed the guard and crashed every signer).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: s3fs reads ``key?versionId=v`` as version v of ``key`` (whatever the store's versioning),
#: so such a key would address another object.
_VERSION_SELECTOR = "?versionid="


def _problem(text: str) -> str | None:
    """Why `text` is not a safe relative key, or None when it is."""
    if text.startswith("/"):
        return "is an absolute path"
    if "\\" in text:
        return "contains a backslash"
    control = _CONTROL.search(text)
    if control is not None:
        ch = control.group()
        if ch == "\x00":
            return "contains a NUL character"
        if "\ud800" <= ch <= "\udfff":
            return f"contains a lone surrogate U+{ord(ch):04X} (not valid Unicode)"
        return f"contains the control character U+{ord(ch):04X}"
    if "?" in text and _VERSION_SELECTOR in text.lower():
        return "contains '?versionId=', which S3 clients read as a version of another key"
    for segment in text.split("/"):
        if segment == "":
            return "has an empty path segment ('//' or a leading or trailing '/')"
        if segment in (".", ".."):
            return f"has a {segment!r} path segment"
    return None


def check(key: str) -> str:
    """Return `key` unchanged if it is a safe relative key, else raise `UnsafeKeyError`.

    Percent-encoded forms are decoded (repeatedly) and checked as well, so ``%2e%2e``
    and ``a%2F..%2Fb`` are refused, while ``a..b``, ``.hidden`` or ``100%`` pass.

    >>> check("runs/a..b/.hidden")
    'runs/a..b/.hidden'
    """
    if not isinstance(key, str):
        raise UnsafeKeyError(f"object key must be a string, not {type(key).__name__}")
    if key == "":
        raise UnsafeKeyError("object key is empty", hint=_FIX)
    text = key
    for _ in range(8):
        problem = _problem(text)
        if problem is not None:
            shown = key if text == key else f"{key} (decoded: {text})"
            raise UnsafeKeyError(f"object key {shown!r} {problem}", hint=_FIX)
        decoded = unquote(text, errors="replace") if "%" in text else text
        if decoded == text:
            return key
        text = decoded
    raise UnsafeKeyError(f"object key {key!r} is percent-encoded too many times", hint=_FIX)


def check_subpath(subpath: str) -> str:
    """Validate a store's sub-path (slashes at either end are trimmed first)."""
    trimmed = subpath.strip("/")
    if trimmed:
        try:
            check(trimmed)
        except UnsafeKeyError as exc:
            raise UnsafeKeyError(
                str(exc).replace("object key", "sub-path", 1),
                hint="use a plain folder path such as 'wandb' or 'teams/omega'",
            ) from None
    return trimmed


def join(subpath: str, key: str, *, allow_reserved: bool = False) -> str:
    """The full object key of `key` in a store with `subpath`: ``<subpath>/<key>``.

    >>> join("wandb", "runs/a.bin")
    'wandb/runs/a.bin'
    >>> join("wandb", "../other")
    Traceback (most recent call last):
    ...
    byob_core.errors.UnsafeKeyError: object key '../other' has a '..' path segment (give a relative key such as 'runs/abc/file.bin')
    """
    check(key)
    if not allow_reserved and (key == RESERVED or key.startswith(RESERVED + "/")):
        raise UnsafeKeyError(
            f"object key {key!r} is under the reserved prefix {RESERVED!r}",
            hint="byob keeps that prefix for its probe and marker objects; choose another name",
        )
    return f"{subpath}/{key}" if subpath else key


#: Keys the guard passes without further thought: printable ASCII without ``%``, ``?``,
#: ``\\`` or control characters, in non-empty ``/``-separated segments none of which is ``.`` or
#: ``..``. Nearly every real key is one; `full_key` checks it with one regex match and
#: hands anything else to `join`, which decides (the tests hold the two to agreeing).
_PLAIN = re.compile(
    r"(?:(?!\.\.?(?:/|\Z))[\x20-\x24\x26-\x2e\x30-\x3e\x40-\x5b\x5d-\x7e]+/)*"
    r"(?!\.\.?\Z)[\x20-\x24\x26-\x2e\x30-\x3e\x40-\x5b\x5d-\x7e]+"
).fullmatch


def full_key(prefix: str, key: str) -> str:
    """`join` for the hot path: `prefix` is the store's `Store.prefix` (``"<subpath>/"`` or ``""``).

    The same answer as ``join(subpath, key)``, the same errors, faster for plain keys.

    >>> full_key("wandb/", "runs/a b.png")
    'wandb/runs/a b.png'
    """
    if (
        type(key) is str
        and _PLAIN(key) is not None
        and not key.startswith(_RESERVED_PREFIX)
        and key != RESERVED
    ):
        return prefix + key
    return join(prefix[:-1], key)


_RESERVED_PREFIX = RESERVED + "/"


def relative(subpath: str, full_key: str) -> str:
    """The inverse of `join`: the key relative to `subpath`; raises if it lies outside."""
    if not subpath:
        return check(full_key)
    prefix = subpath + "/"
    if not full_key.startswith(prefix) or len(full_key) == len(prefix):
        raise UnsafeKeyError(f"object key {full_key!r} lies outside the sub-path {subpath!r}")
    return check(full_key[len(prefix) :])


def is_inside(subpath: str, full_key: str) -> bool:
    """True when `full_key` is a safe key strictly under `subpath`."""
    try:
        relative(subpath, full_key)
    except UnsafeKeyError:
        return False
    return True


def is_reserved(relative_key: str) -> bool:
    """True for keys under byob's own prefix (never listed to users, never collected)."""
    return relative_key == RESERVED or relative_key.startswith(RESERVED + "/")
