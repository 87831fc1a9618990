"""Pre-signed requests: what a client needs to reach one object, and multipart plans."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from byob_core.errors import SigningError

METHODS = ("GET", "PUT", "HEAD", "DELETE")
#: Default lifetimes (docs/security.md#url-lifetimes): reads 1 hour, writes 24 hours.
DEFAULT_EXPIRES = {
    "GET": dt.timedelta(hours=1),
    "HEAD": dt.timedelta(hours=1),
    "DELETE": dt.timedelta(hours=1),
    "PUT": dt.timedelta(hours=24),
}
MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB
#: Uploads from this size on go in parts (docs/concepts.md#large-uploads).
MULTIPART_THRESHOLD = 2 * GiB
MAX_OBJECT_SIZE = 5 * TiB
MIN_PART_SIZE = 100 * MiB
MAX_PARTS = 10_000


#: The clock prepared signers read when no signing time is given (seconds since the epoch).
#: Benchmarks replace it to put every call in a new second; nothing else should.
clock = time.time


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def normalize_method(value: str) -> str:
    """`value` in upper case, or a `SigningError` when byob cannot sign it."""
    return _method(value)


def _method(value: str) -> str:
    method = value.upper()
    if method not in METHODS:
        raise SigningError(f"cannot sign method {value!r}", hint=f"use one of {', '.join(METHODS)}")
    return method


@attrs.frozen(kw_only=True)
class SignRequest:
    """One object to sign. `key` is the full object key (sub-path already applied by the core).

    `expires` and `at` are filled by the core before a plugin sees the request: the
    lifetime (default by method) and the signing time (now, unless given for
    reproducible output).
    """

    key: str
    method: str = attrs.field(default="GET", converter=_method)
    expires: dt.timedelta | None = None
    at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    user: str | None = None
    content_type: str | None = None
    content_md5: str | None = None
    version_id: str | None = None
    #: Response header overrides (S3 ``response-content-disposition`` and the like).
    response_headers: Mapping[str, str] = attrs.field(factory=dict)
    #: Extra query parameters the signature must cover (multipart ``partNumber``/``uploadId``).
    params: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def expires_at(self) -> dt.datetime:
        assert self.at is not None and self.expires is not None
        return self.at + self.expires


@attrs.frozen(kw_only=True)
class SignedRequest:
    """A request a client can send without credentials: method, URL, and the headers it must send."""

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    expires_at: dt.datetime
    key: str = ""

    def header_lines(self) -> list[str]:
        """The headers as ``"Key:Value"`` strings, as upload clients expect them."""
        return [f"{name}:{value}" for name, value in self.headers.items()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "method": self.method,
            "url": self.url,
            "headers": self.header_lines(),
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
        }


def resolve_lifetime(
    method: str, expires: dt.timedelta | int | None, max_expiry: dt.timedelta | None
) -> dt.timedelta:
    """The lifetime of a signature: the given one, or the method's default, within bounds."""
    if expires is None:
        lifetime = DEFAULT_EXPIRES[method]
    elif isinstance(expires, dt.timedelta):
        lifetime = expires
    else:
        try:
            lifetime = dt.timedelta(seconds=int(expires))
        except OverflowError:
            raise SigningError(
                f"a lifetime of {expires} seconds is out of range",
                hint="give --expires in seconds, such as 3600 (at most the provider's limit)",
            ) from None
    if lifetime.total_seconds() < 1:
        raise SigningError(
            f"a signed URL must live at least 1 second, not {lifetime.total_seconds():g}",
            hint="give --expires a positive number of seconds",
        )
    if max_expiry is not None and lifetime > max_expiry:
        raise SigningError(
            f"lifetime of {int(lifetime.total_seconds())} s exceeds the provider's limit of "
            f"{int(max_expiry.total_seconds())} s",
            hint=f"use at most {int(max_expiry.total_seconds())} seconds",
        )
    if max_expiry is None and lifetime > dt.timedelta(days=365):
        raise SigningError("a signed URL may live at most 365 days", hint="use a shorter --expires")
    if lifetime != dt.timedelta(seconds=int(lifetime.total_seconds())):
        lifetime = dt.timedelta(seconds=int(lifetime.total_seconds()))
    return lifetime


# -- prepared signers: one (store, method, lifetime), many keys -----------------------------


class KeySigner(Protocol):
    """What `byob_signer` returns: signs plain requests of one method and lifetime for one store.

    `sign_keys` gets full object keys (sub-path applied, every key through the guard) and
    returns one `SignedRequest` each, in order, exactly as `byob_sign` would for
    ``SignRequest(key=k, method=method, expires=lifetime, at=at, user=user)``: byte for
    byte the same URL. `at` None means now (to the second); a given `at` is honoured
    exactly. Everything that does not depend on the key or the time is computed once,
    when the signer is made.
    """

    def sign_keys(
        self, keys: Sequence[str], *, at: dt.datetime | None = None, user: str | None = None
    ) -> list[SignedRequest]: ...


class RequestSigner:
    """The `KeySigner` of a plugin without `byob_signer`: `SignRequest`s through `byob_sign`."""

    __slots__ = ("_lifetime", "_method", "_sign")

    def __init__(
        self,
        sign: Callable[[Sequence[SignRequest]], list[SignedRequest]],
        method: str,
        lifetime: dt.timedelta,
    ) -> None:
        self._sign = sign
        self._method = method
        self._lifetime = lifetime

    def sign_keys(
        self, keys: Sequence[str], *, at: dt.datetime | None = None, user: str | None = None
    ) -> list[SignedRequest]:
        when = at if at is not None else utcnow()
        method, lifetime = self._method, self._lifetime
        return self._sign(
            [SignRequest(key=k, method=method, expires=lifetime, at=when, user=user) for k in keys]
        )


#: ``"00"`` to ``"59"`` and the matching `timedelta`s: the second of a minute, for
#: prepared signers that build their time fields once a minute and add the second.
SECOND_TEXT = tuple(f"{s:02d}" for s in range(60))
SECOND_DELTA = tuple(dt.timedelta(seconds=s) for s in range(60))


class PreparedTimes:
    """The time fields of a prepared signer, rebuilt only when the second (or the given
    time) changes: the part of `KeySigner.sign_keys` every prepared signer shares.

    A subclass sets ``_lifetime``, ``_now`` and ``_given`` (tuples whose first item is the
    second, or the `at`, they were built for) and implements ``_second(second)`` and
    ``_timing(at, stamp, expires_at)``.
    """

    __slots__ = ()
    _lifetime: dt.timedelta
    _now: tuple[Any, ...]
    _given: tuple[Any, ...]

    def _second(self, second: int) -> tuple[Any, ...]:  # pragma: no cover - interface
        raise NotImplementedError

    def _timing(
        self, at: dt.datetime, stamp: str, expires_at: dt.datetime
    ) -> tuple[Any, ...]:  # pragma: no cover - interface
        raise NotImplementedError

    def _times(self, at: dt.datetime | None) -> tuple[Any, ...]:
        """The fields for `at`, or for the current second (`clock`) when it is None."""
        if at is None:
            second = int(clock())
            timing = self._now
            if timing[0] != second:
                timing = self._now = self._second(second)  # type: ignore[misc]
            return timing
        timing = self._given
        if timing[0] != at:
            utc = at.astimezone(dt.UTC) if at.tzinfo is not dt.UTC else at
            timing = self._given = self._timing(at, stamp_of(utc), at + self._lifetime)  # type: ignore[misc]
        return timing


def stamp_of(at: dt.datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` of a UTC time (SigV4 and GOOG4 ``X-*-Date``), cheaper than strftime."""
    return "%04d%02d%02dT%02d%02d%02dZ" % (  # noqa: UP031 (a quarter the cost of f-strings here)
        at.year,
        at.month,
        at.day,
        at.hour,
        at.minute,
        at.second,
    )


def as_utc(value: dt.datetime) -> dt.datetime:
    """`value` in UTC (a naive time is taken to be UTC), as `SignRequest` stores `at`."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    if value.tzinfo is dt.UTC:
        return value
    return value.astimezone(dt.UTC)


# -- multipart -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Part:
    """One part of a multipart upload; numbers start at 1."""

    number: int
    offset: int
    size: int


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": MiB,
    "gib": GiB,
    "tib": TiB,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """Bytes of a size given as bytes (``1048576``) or with a unit (``500MiB``, ``3GiB``, ``2GB``).

    IEC units (KiB, MiB, GiB, TiB) are powers of 1024, SI units (kB, MB, GB, TB) powers
    of 1000; case does not matter.

    >>> parse_size("500MiB"), parse_size("3GiB") == 3 * GiB, parse_size("1.5 kB"), parse_size(7)
    (524288000, True, 1500, 7)
    """
    if isinstance(value, bool):
        raise SigningError(f"not a size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise SigningError(f"object size must not be negative, not {value}")
        return value
    match = _SIZE.match(str(value))
    factor = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or factor is None:
        raise SigningError(
            f"{value!r} is not a size",
            hint="give bytes (1048576) or a number with a unit: 500MiB, 3GiB, 2GB",
        )
    number = match.group(1)
    if "." in number:
        return int(float(number) * factor)
    return int(number) * factor


@attrs.frozen(kw_only=True)
class MultipartPlan:
    """How an object of `size` bytes is uploaded: in one PUT, or in parts of `part_size`."""

    size: int
    part_size: int
    parts: Sequence[Part]

    @property
    def multipart(self) -> bool:
        return self.size >= MULTIPART_THRESHOLD


def plan_multipart(
    size: int,
    *,
    min_part_size: int = MIN_PART_SIZE,
    max_parts: int = MAX_PARTS,
    max_size: int = MAX_OBJECT_SIZE,
) -> MultipartPlan:
    """How `size` bytes are uploaded, the same rule for every provider.

    Below the 2 GiB threshold, in one PUT (a single part of the whole size); from it on,
    in parts of ``max(ceil(size / max_parts), min_part_size)`` (the provider's rules).

    >>> p = plan_multipart(3 * GiB)
    >>> p.multipart, p.part_size == 100 * MiB, len(p.parts), p.parts[0].number
    (True, True, 31, 1)
    >>> p = plan_multipart(500 * MiB)
    >>> p.multipart, len(p.parts), p.part_size == 500 * MiB
    (False, 1, True)
    """
    if size < 0:
        raise SigningError(f"object size must not be negative, not {size}")
    if size > max_size:
        raise SigningError(
            f"object of {size} bytes exceeds the largest uploadable size of {max_size} bytes"
        )
    if size < MULTIPART_THRESHOLD:
        return MultipartPlan(
            size=size, part_size=size, parts=(Part(number=1, offset=0, size=size),)
        )
    part_size = max(math.ceil(size / max_parts), min_part_size)
    count = max(1, math.ceil(size / part_size))
    parts = tuple(
        Part(number=i + 1, offset=i * part_size, size=min(part_size, size - i * part_size))
        for i in range(count)
    )
    return MultipartPlan(size=size, part_size=part_size, parts=parts)


@attrs.frozen(kw_only=True)
class MultipartUpload:
    """A multipart upload under way: the full key and the provider's upload id."""

    key: str
    upload_id: str


@attrs.frozen(kw_only=True)
class CompletedPart:
    """A part the client uploaded: its number and the ETag (or Azure block id) it got back."""

    number: int
    etag: str
