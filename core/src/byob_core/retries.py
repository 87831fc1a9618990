"""How byob rides out a store that misbehaves: retry settings per store, and one backoff helper.

Every provider hands the same settings to its SDK's own retry machinery (botocore's
standard mode, azure-core's retry policy) and uses `call` / `acall` below where there is
none (gcsfs requests, plain HTTP checks). Backoff is exponential with full jitter: the
n-th retry waits a uniform random time in ``[0, min(cap, base * 2**n))``.

Settings, from a store's ``options`` table (see docs/reliability.md):

- ``retries``: retries after the first attempt (default 4; 0 turns retrying off);
- ``timeout``: seconds allowed to connect, and again to read each response (default 10);
- ``backoff``: the base delay of the first retry, in seconds (default 0.5).

Azure's older ``retry_total`` and ``connection_timeout`` are read as the first two.

``python -m byob_core --timeout S`` (or `override`) wins over every store's setting.

>>> policy = RetryPolicy(retries=2, timeout=5.0)
>>> policy.attempts, 0 <= policy.delay(3) <= policy.backoff * 8
(3, True)
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs
import structlog

from byob_core.errors import ByobError, ConfigError

log = structlog.get_logger("byob")

T = TypeVar("T")

DEFAULT_RETRIES = 4
DEFAULT_TIMEOUT = 10.0
DEFAULT_BACKOFF = 0.5
#: The longest wait between two attempts, whatever the attempt number.
MAX_DELAY = 20.0
#: Bounds of the settings (a typo such as ``retries = 1000`` is refused, not obeyed).
MAX_RETRIES = 20
MAX_TIMEOUT = 3600.0

#: HTTP statuses that mean "try again": throttling (429, S3 503 SlowDown, Azure 503
#: ServerBusy, GCS 429 rateLimitExceeded) and server-side trouble.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Error codes in response bodies with the same meaning, whatever the status.
RETRY_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "ServerBusy",
        "OperationTimedOut",
        "rateLimitExceeded",
        "userRateLimitExceeded",
        "backendError",
    }
)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently one store is retried."""

    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT
    backoff: float = DEFAULT_BACKOFF
    max_delay: float = MAX_DELAY

    @property
    def attempts(self) -> int:
        """Attempts in all: the first one plus the retries."""
        return self.retries + 1

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 for the first): full jitter."""
        ceiling = min(self.max_delay, self.backoff * 2 ** max(0, retry - 1))
        return (rng or random).uniform(0, ceiling)

    def worst_case_seconds(self) -> float:
        """The longest a call can take before it gives up: every attempt times out, every wait is full."""
        waits = sum(min(self.max_delay, self.backoff * 2**n) for n in range(self.retries))
        return float(self.attempts * 2 * self.timeout + waits)


#: Older names still read, after the new one: the Azure SDK's.
ALIASES = {"retries": ("retry_total",), "timeout": ("connection_timeout",)}

_override: dict[str, Any] = {}


def override(*, timeout: float | None = None, retries: int | None = None) -> None:
    """Settings that win over every store's (the CLI's ``--timeout``); None leaves one alone."""
    try:
        if timeout is not None:
            _override["timeout"] = _number("--timeout", timeout, low=0.001)
        if retries is not None:
            _override["retries"] = _integer("--retries", retries)
    except ConfigError as exc:
        name, message = exc.problems[0]
        raise ByobError(f"{name} {message}") from None


def clear_override() -> None:
    _override.clear()


def policy_of(store: Any) -> RetryPolicy:
    """The retry policy of a `Store` (or of an ``options`` mapping), checked.

    Raises `ConfigError` naming the bad option.
    """
    options: Mapping[str, Any] = getattr(store, "options", store) or {}
    fields: dict[str, Any] = {}
    for name in ("retries", *ALIASES["retries"]):
        if name in options:
            fields["retries"] = _integer(f"options.{name}", options[name])
            break
    for name in ("timeout", *ALIASES["timeout"]):
        if name in options:
            fields["timeout"] = _number(f"options.{name}", options[name], low=0.001)
            break
    if "backoff" in options:
        fields["backoff"] = _number("options.backoff", options["backoff"], low=0.0)
    fields.update(_override)
    return RetryPolicy(**fields)


def check_options(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems with the retry settings of an ``options`` table, as (key, message)."""
    try:
        policy_of(options)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise ConfigError(
            [(name, f"must be a whole number from 0 to {MAX_RETRIES}, not {value!r}")]
        )
    return value


def _number(name: str, value: Any, *, low: float, high: float = MAX_TIMEOUT) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(
            [(name, f"must be a number of seconds from {low:g} to {high:g}, not {value!r}")]
        )
    return float(value)


# -- telling a passing fault from a lasting one -------------------------------------------


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, as far as one can tell without importing SDKs."""
    for name in ("status", "status_code", "code"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore
        value = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return value if isinstance(value, int) else None
    value = getattr(response, "status_code", None) or getattr(response, "status", None)
    return value if isinstance(value, int) else None


def _code_of(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return str(getattr(exc, "error_code", "") or "")


#: Exception class names (anywhere in the MRO) of network trouble in the SDKs byob uses;
#: matched by name so that this module imports none of them.
_TRANSIENT_NAMES = frozenset(
    {
        # requests / urllib3
        "ConnectionError",
        "ChunkedEncodingError",
        "ReadTimeout",
        "ConnectTimeout",
        "Timeout",
        "ProtocolError",
        "IncompleteRead",
        # http.client
        "RemoteDisconnected",
        "BadStatusLine",
        # aiohttp
        "ClientConnectionError",
        "ClientPayloadError",
        "ServerTimeoutError",
        "ServerDisconnectedError",
        # botocore
        "EndpointConnectionError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ResponseStreamingError",
        # azure-core
        "ServiceRequestError",
        "ServiceResponseError",
        "IncompleteReadError",
    }
)


def transient(exc: BaseException) -> bool:
    """True for a failure that another attempt may not meet: throttling, 5xx, resets, timeouts."""
    status = status_of(exc)
    if status is not None:
        return status in RETRY_STATUSES
    if _code_of(exc) in RETRY_CODES:
        return True
    if isinstance(exc, ConnectionError | TimeoutError | asyncio.TimeoutError):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _TRANSIENT_NAMES:
        return True
    reason = getattr(exc, "reason", None)  # urllib.error.URLError wraps the socket error
    if isinstance(reason, BaseException) and reason is not exc:
        return transient(reason)
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, ConnectionError | TimeoutError)


# -- the helper ---------------------------------------------------------------------------


class Counter:
    """How many retries byob made itself, by operation (tests and benchmarks read it)."""

    def __init__(self) -> None:
        self.by_what: dict[str, int] = {}

    def add(self, what: str) -> None:
        self.by_what[what] = self.by_what.get(what, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_what.values())

    def reset(self) -> None:
        self.by_what.clear()


RETRIED = Counter()


def call(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    retryable: Callable[[BaseException], bool] = transient,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `fn`, retrying it after a transient failure; the last failure propagates.

    Only for steps that are safe to repeat (reads, listings, whole-object writes of the
    same bytes, deletes): a step whose repetition could do harm checks its result instead.
    """
    retry = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            if retry >= policy.retries or not retryable(exc):
                raise
            retry += 1
            wait = policy.delay(retry)
            RETRIED.add(what)
            log.info("retry", what=what, retry=retry, wait=round(wait, 3), error=type(exc).__name__)
            sleep(wait)


async def acall(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    what: str,
    retryable: Callable[[BaseException], bool] = transient,
) -> T:
    """The asyncio twin of `call`."""
    retry = 0
    while True:
        try:
            return await fn()
        except Exception as exc:
            if retry >= policy.retries or not retryable(exc):
                raise
            retry += 1
            wait = policy.delay(retry)
            RETRIED.add(what)
            log.info("retry", what=what, retry=retry, wait=round(wait, 3), error=type(exc).__name__)
            await asyncio.sleep(wait)


#: Methods whose repetition cannot change the outcome (a PUT of the same bytes included).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _RetryableAnswer(Exception):
    def __init__(self, answer: tuple[int, dict[str, str], bytes]) -> None:
        super().__init__(f"HTTP {answer[0]}")
        self.answer = answer


def send(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    policy: RetryPolicy | None = None,
    what: str = "signed request",
) -> tuple[int, dict[str, str], bytes]:
    """Send one plain HTTP request (a pre-signed URL): (status, lower-cased headers, body).

    HTTP errors are returned, not raised. An idempotent method is retried after a 429,
    a 5xx, a reset, a timeout or a body cut short; the last answer (or error) stands.
    """
    import urllib.error
    import urllib.request

    policy = policy or RetryPolicy()
    timeout = policy.timeout
    method = method.upper()
    sent = dict(headers or {})
    if body is not None and not any(h.lower() == "content-type" for h in sent):
        # urllib's default form type makes some S3 servers store an empty object.
        sent["Content-Type"] = "application/octet-stream"

    def once() -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, data=body, method=method, headers=sent)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                answer = (
                    response.status,
                    {k.lower(): v for k, v in response.headers.items()},
                    response.read(),
                )
        except urllib.error.HTTPError as exc:
            answer = (exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())
        if answer[0] in RETRY_STATUSES:
            raise _RetryableAnswer(answer)
        return answer

    if method not in IDEMPOTENT_METHODS:
        policy = attrs.evolve(policy, retries=0)
    try:
        return call(once, policy=policy, what=what, retryable=_retry_send)
    except _RetryableAnswer as last:
        return last.answer


def _retry_send(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableAnswer) or transient(exc)


__all__ = [
    "RETRIED",
    "RetryPolicy",
    "acall",
    "call",
    "override",
    "policy_of",
    "send",
    "status_of",
    "transient",
]
