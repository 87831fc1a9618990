"""A SigV4 query-string pre-signer for S3, built on hashlib and hmac alone.

Its URLs are byte-identical to botocore's ``generate_presigned_url`` (``s3v4``) for the
same credentials, clock, region, endpoint and addressing style; the differential tests
prove it. botocore is never imported here: signing is the hot path, and a presigner is
built once per store and then signs many keys per call (`Presigner.sign_many`).

>>> import datetime as dt
>>> from byob_core.signing import SignRequest
>>> p = Presigner(
...     access_key="AKIDEXAMPLE", secret_key="secret", region="us-east-1",
...     endpoint=S3Endpoint.for_bucket("acme", "us-east-1"),
... )
>>> at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
>>> signed = p.sign(SignRequest(key="a b.txt", expires=dt.timedelta(hours=1), at=at))
>>> signed.url.split("?")[0]
'https://acme.s3.amazonaws.com/a%20b.txt'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
from byob_core import signing as _signing
from byob_core.errors import SigningError
from byob_core.signing import (
    DEFAULT_EXPIRES,
    SECOND_DELTA,
    SECOND_TEXT,
    SignedRequest,
    SignRequest,
)

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: What botocore leaves unescaped: in query names and values, and in the object path.
QUERY_SAFE = "-_.~"
PATH_SAFE = "/~"
DEFAULT_REGION = "us-east-1"

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


# Percent-encoding as urllib's quote() does it, but touching only the characters that need
# it: most keys are plain ASCII, and a regex substitution with a per-character cache is
# several times faster than quote() on them (the differential tests hold it to botocore).
_UNSAFE_QUERY = re.compile(r"[^A-Za-z0-9\-_.~]")
_UNSAFE_PATH = re.compile(r"[^A-Za-z0-9\-_.~/]")
_ESCAPES: dict[str, str] = {}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    escaped = _ESCAPES.get(char)
    if escaped is None:
        escaped = "".join(f"%{b:02X}" for b in char.encode())
        if len(_ESCAPES) < 4096:
            _ESCAPES[char] = escaped
    return escaped


def _q(text: str) -> str:
    """Percent-encode a query name or value (botocore's ``percent_encode``)."""
    return _UNSAFE_QUERY.sub(_escape, text)


def quote_path(key: str) -> str:
    """Percent-encode an object key for the URL path, keeping ``/`` (``quote(key, safe="/~")``)."""
    return _UNSAFE_PATH.sub(_escape, key)


_clock: list[Any] = [None, None]


def _now() -> dt.datetime:
    """The current UTC time to the second (what `utcnow` gives), built once per second."""
    second = int(time.time())
    if _clock[0] != second:
        _clock[0] = second
        _clock[1] = dt.datetime.fromtimestamp(second, dt.UTC)
    return _clock[1]  # type: ignore[no-any-return]


def ambient_region() -> str:
    """The region of the environment (``AWS_REGION``, ``AWS_DEFAULT_REGION``), else us-east-1."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def virtual_hostable(bucket: str, *, tls: bool) -> bool:
    """Whether `bucket` can be a host name label, as botocore's endpoint rules decide.

    Names with dots only work over plain HTTP (the wildcard TLS certificate covers one label).
    """
    if not 3 <= len(bucket) <= 63:
        return False
    labels = bucket.split(".")
    if len(labels) > 1 and tls:
        return False
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return False
    return not _is_ip(bucket)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_aws_host(endpoint_url: str) -> bool:
    """Whether `endpoint_url` is an AWS endpoint (``*.amazonaws.com``, China's too)."""
    host = (urlsplit(endpoint_url).hostname or "").lower()
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def aws_domain(region: str) -> str:
    """The S3 domain of a region's partition."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


@attrs.frozen(kw_only=True)
class S3Endpoint:
    """Where a bucket's objects live: ``base`` + quoted key is an object URL.

    `host` is the value signed as the ``host`` header (default ports dropped).
    """

    base: str
    host: str
    #: The part of the URL path before the key (``"/bucket/"`` in path style, else ``"/"``).
    path_prefix: str

    @classmethod
    def for_bucket(
        cls,
        bucket: str,
        region: str,
        *,
        endpoint_url: str | None = None,
        path_style: bool = False,
    ) -> S3Endpoint:
        """Address `bucket` as botocore does for this endpoint and addressing style.

        Without `endpoint_url`, AWS's regional endpoint (the global one in us-east-1);
        virtual-hosted unless `path_style` or the bucket cannot be a host name; a custom
        endpoint whose host is an IP address is always path-style.
        """
        if endpoint_url is None:
            scheme = "https"
            domain = aws_domain(region)
            netloc = f"s3.{domain}" if region == "us-east-1" else f"s3.{region}.{domain}"
        else:
            parts = urlsplit(endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SigningError(f"cannot sign for endpoint {endpoint_url!r}")
            scheme = parts.scheme
            netloc = parts.netloc.rsplit("@", 1)[-1]
            if _is_ip(parts.hostname):
                path_style = True
        if path_style or not virtual_hostable(bucket, tls=scheme == "https"):
            prefix = f"/{quote(bucket, safe=PATH_SAFE)}/"
        else:
            netloc = f"{bucket}.{netloc}"
            prefix = "/"
        return cls(
            base=f"{scheme}://{netloc}{prefix}",
            host=_canonical_host(scheme, netloc),
            path_prefix=prefix,
        )


def _canonical_host(scheme: str, netloc: str) -> str:
    host, sep, port = netloc.rpartition(":")
    if sep and "]" not in port and port.isdigit() and int(port) == _DEFAULT_PORTS.get(scheme):
        return host.lower()
    return netloc.lower() if not sep or "]" in port else f"{host.lower()}:{port}"


#: Per (time, lifetime, signed headers): the auth query of the URL, its sorted canonical
#: pairs and their join, the string-to-sign's first three lines, and the signing key.
_Auth = tuple[str, list[str], str, str, bytes]


def _header_value(value: str) -> str:
    return " ".join(value.split())


class Presigner:
    """Pre-signs S3 requests for one bucket with one set of credentials.

    The signing key is derived once per (date, region, service) and cached; the parts of
    the query string that depend only on the time and lifetime are cached per (time,
    lifetime, signed headers), so a batch signed at one instant costs one HMAC and one
    SHA-256 per URL.
    """

    __slots__ = (
        "_access_key",
        "_auth_cache",
        "_endpoint",
        "_key_cache",
        "_region",
        "_secret",
        "_service",
        "_token",
        "_token_q",
        "_user_param",
    )

    def __init__(
        self,
        *,
        access_key: str,
        secret_key: str,
        endpoint: S3Endpoint,
        region: str,
        session_token: str | None = None,
        service: str = "s3",
        user_param: str = "X-User",
    ) -> None:
        if not access_key or not secret_key:
            raise SigningError("signing needs an access key and a secret key")
        self._access_key = access_key
        self._secret = ("AWS4" + secret_key).encode()
        self._token = session_token or None
        self._token_q = _q(session_token) if session_token else None
        self._region = region
        self._service = service
        self._endpoint = endpoint
        self._user_param = user_param
        self._key_cache: dict[str, bytes] = {}
        self._auth_cache: dict[tuple[dt.datetime, int, str], _Auth] = {}

    def __repr__(self) -> str:
        return f"Presigner(endpoint={self._endpoint.base!r}, region={self._region!r})"

    @property
    def endpoint(self) -> S3Endpoint:
        return self._endpoint

    @property
    def region(self) -> str:
        return self._region

    def signing_key(self, date: str) -> bytes:
        """The SigV4 key of `date` (``YYYYMMDD``) for this region and service, cached."""
        key = self._key_cache.get(date)
        if key is None:
            k = hmac.digest(self._secret, date.encode(), "sha256")
            k = hmac.digest(k, self._region.encode(), "sha256")
            k = hmac.digest(k, self._service.encode(), "sha256")
            key = hmac.digest(k, b"aws4_request", "sha256")
            if len(self._key_cache) > 8:
                self._key_cache.clear()
            self._key_cache[date] = key
        return key

    def _auth(self, at: dt.datetime, expires: int, signed: str) -> _Auth:
        """What every URL signed at `at` for `expires` seconds shares (see `_Auth`)."""
        cache_key = (at, expires, signed)
        hit = self._auth_cache.get(cache_key)
        if hit is not None:
            return hit
        if at.tzinfo is not None:
            at = at.astimezone(dt.UTC)
        stamp = at.strftime("%Y%m%dT%H%M%SZ")
        date = stamp[:8]
        scope = f"{date}/{self._region}/{self._service}/aws4_request"
        pairs = [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", _q(f"{self._access_key}/{scope}")),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", _q(signed)),
        ]
        if self._token_q is not None:
            pairs.append(("X-Amz-Security-Token", self._token_q))
        query = "&".join(f"{k}={v}" for k, v in pairs)
        canonical = sorted(f"{k}={v}" for k, v in pairs)
        if len(self._auth_cache) > 64:
            self._auth_cache.clear()
        entry = (
            query,
            canonical,
            "&".join(canonical),
            f"{ALGORITHM}\n{stamp}\n{scope}\n",
            self.signing_key(date),
        )
        self._auth_cache[cache_key] = entry
        return entry

    def presign(
        self,
        method: str,
        key: str,
        *,
        at: dt.datetime,
        expires: int,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """The pre-signed URL of one request: the primitive under `sign_many`.

        params: operation query parameters, in URL order (botocore keeps the caller's).
        headers: headers the client will send and the signature covers (``Content-MD5``).
        """
        if headers:
            lowered = {name.lower(): _header_value(value) for name, value in headers.items()}
            lowered["host"] = self._endpoint.host
            names = sorted(lowered)
            signed = ";".join(names)
            canonical_headers = "".join(f"{n}:{lowered[n]}\n" for n in names)
        else:
            signed = "host"
            canonical_headers = f"host:{self._endpoint.host}\n"
        auth_query, auth_canonical, auth_joined, sts_prefix, signing_key = self._auth(
            at, expires, signed
        )
        path = quote_path(key)
        if params:
            encoded = [f"{_q(k)}={_q(v)}" for k, v in params]
            query = "&".join(encoded) + "&" + auth_query
            canonical_query = "&".join(sorted(auth_canonical + encoded))
        else:
            query = auth_query
            canonical_query = auth_joined
        canonical_request = (
            f"{method}\n{self._endpoint.path_prefix}{path}\n{canonical_query}\n"
            f"{canonical_headers}\n{signed}\n{UNSIGNED_PAYLOAD}"
        )
        to_sign = sts_prefix + hashlib.sha256(canonical_request.encode()).hexdigest()
        signature = hmac.digest(signing_key, to_sign.encode(), "sha256").hex()
        return f"{self._endpoint.base}{path}?{query}&X-Amz-Signature={signature}"

    def prepare(self, method: str, lifetime: dt.timedelta) -> PreparedPresigner:
        """A signer of plain `method` requests living `lifetime`: `byob_signer`'s answer."""
        return PreparedPresigner(self, method, lifetime)

    def sign(self, request: SignRequest) -> SignedRequest:
        """Sign one request (a wrapper of `sign_many`)."""
        return self.sign_many((request,))[0]

    def sign_many(self, requests: Iterable[SignRequest]) -> list[SignedRequest]:
        """Sign each request, in order.

        Query parameters go in this order: ``versionId``, the ``response-*`` overrides,
        the request's extra `params` (``partNumber``, ``uploadId``), then the user
        parameter. A PUT's ``Content-MD5`` and ``Content-Type`` become signed headers
        that the client must send, listed in `SignedRequest.headers`; other methods
        carry no body, so those fields are ignored for them.
        """
        out: list[SignedRequest] = []
        append = out.append
        presign = self.presign
        now: dt.datetime | None = None
        # Requests of one batch mostly share their time and lifetime: compute each pair once.
        lifetimes: dict[tuple[dt.datetime, dt.timedelta | None, str], tuple[int, dt.datetime]] = {}
        for request in requests:
            at = request.at
            if at is None:
                at = now = now or _now()
            method = request.method
            timing = lifetimes.get((at, request.expires, method))
            if timing is None:
                lifetime = request.expires or DEFAULT_EXPIRES[method]
                seconds = int(lifetime.total_seconds())
                timing = (seconds, at + dt.timedelta(seconds=seconds))
                lifetimes[(at, request.expires, method)] = timing
            expires, expires_at = timing
            params: list[tuple[str, str]] = []
            if request.version_id is not None:
                params.append(("versionId", request.version_id))
            if request.response_headers:
                for name, value in request.response_headers.items():
                    lowered = name.lower()
                    if not lowered.startswith("response-"):
                        lowered = "response-" + lowered
                    params.append((lowered, value))
            if request.params:
                params.extend(request.params.items())
            if request.user is not None:
                params.append((self._user_param, request.user))
            headers: dict[str, str] = {}
            if method == "PUT":
                if request.content_md5:
                    headers["Content-MD5"] = request.content_md5
                if request.content_type:
                    headers["Content-Type"] = request.content_type
            url = presign(
                method, request.key, at=at, expires=expires, params=params, headers=headers
            )
            append(
                SignedRequest(
                    method=method, url=url, headers=headers, expires_at=expires_at, key=request.key
                )
            )
        return out

    def presign_many(
        self,
        method: str,
        keys: Iterable[str],
        *,
        expires: dt.timedelta,
        at: dt.datetime | None = None,
    ) -> list[str]:
        """Plain URLs of one method for many keys: the bare primitive, no request objects."""
        when = at or _now()
        seconds = int(expires.total_seconds())
        presign = self.presign
        return [presign(method, key, at=when, expires=seconds) for key in keys]


def _sorts_after(a: str, b: str) -> bool:
    """True when every ``a + x`` sorts after every ``b + y`` (decided before either ends)."""
    for x, y in zip(a, b, strict=False):
        if x != y:
            return x > y
    return False


#: Per signing second: (second or time, canonical query, URL query, string-to-sign
#: prefix, signing key, expires_at).
_Timing = tuple[Any, str, str, str, bytes, dt.datetime]


class PreparedPresigner(_signing.PreparedTimes):
    """A `Presigner` fixed to one method and lifetime, for plain requests (a `KeySigner`).

    Everything but the key, the user and the time is in templates built here; what
    depends on the time is built once per signing second and costs a few microseconds
    when the second changes, so a server signing one URL per request in a new second
    each time pays little more than one signing many in the same second. Output is
    byte-identical to `Presigner.sign_many` for ``SignRequest(key, method, expires, at,
    user)``.
    """

    __slots__ = (
        "_auth_names",
        "_base",
        "_canon_head",
        "_canon_tail",
        "_given",
        "_lifetime",
        "_method",
        "_minute",
        "_now",
        "_presigner",
        "_q_head",
        "_q_scope",
        "_scope_tail",
        "_seconds",
        "_tail_canon",
        "_tail_url",
        "_user_last",
        "_user_q",
    )

    def __init__(self, presigner: Presigner, method: str, lifetime: dt.timedelta) -> None:
        p = presigner
        seconds = int(lifetime.total_seconds())
        self._presigner = p
        self._method = method
        self._seconds = seconds
        self._lifetime = dt.timedelta(seconds=seconds)
        endpoint = p._endpoint
        self._base = endpoint.base
        self._q_head = f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={_q(p._access_key + '/')}"
        scope_tail = f"/{p._region}/{p._service}/aws4_request"
        self._scope_tail = scope_tail
        self._q_scope = _q(scope_tail)
        expires = f"&X-Amz-Expires={seconds}"
        if p._token_q is not None:
            token = f"&X-Amz-Security-Token={p._token_q}"
            self._tail_url = f"{expires}&X-Amz-SignedHeaders=host{token}"
            self._tail_canon = f"{expires}{token}&X-Amz-SignedHeaders=host"
        else:
            self._tail_url = self._tail_canon = f"{expires}&X-Amz-SignedHeaders=host"
        self._canon_head = f"{method}\n{endpoint.path_prefix}"
        self._canon_tail = f"\nhost:{endpoint.host}\n\nhost\n{UNSIGNED_PAYLOAD}"
        self._user_q = _q(p._user_param) + "="
        names = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires"]
        names += ["X-Amz-SignedHeaders"] + (["X-Amz-Security-Token"] if p._token_q else [])
        self._auth_names = names
        self._user_last = all(_sorts_after(self._user_q, name + "=") for name in names)
        self._now: _Timing = (None, "", "", "", b"", dt.datetime.min)
        self._given: _Timing = (None, "", "", "", b"", dt.datetime.min)
        self._minute: tuple[Any, str, str, str, bytes, dt.datetime] = (
            None,
            "",
            "",
            "",
            b"",
            dt.datetime.min,
        )

    def __repr__(self) -> str:
        return f"PreparedPresigner({self._presigner!r}, {self._method}, {self._seconds} s)"

    def _timing(self, when: Any, stamp: str, expires_at: dt.datetime) -> _Timing:
        date = stamp[:8]
        auth = f"{self._q_head}{date}{self._q_scope}&X-Amz-Date={stamp}"
        return (
            when,
            auth + self._tail_canon,
            auth + self._tail_url,
            f"{ALGORITHM}\n{stamp}\n{date}{self._scope_tail}\n",
            self._presigner.signing_key(date),
            expires_at,
        )

    def _second(self, second: int) -> _Timing:
        """The timing of `second`: the minute's templates (built once a minute) plus the second."""
        minute, within = divmod(second, 60)
        parts = self._minute
        if parts[0] != minute:
            start = minute * 60
            stamp = "%04d%02d%02dT%02d%02d" % time.gmtime(start)[:5]  # noqa: UP031
            date = stamp[:8]
            parts = self._minute = (
                minute,
                f"{self._q_head}{date}{self._q_scope}&X-Amz-Date={stamp}",
                f"{ALGORITHM}\n{stamp}",
                f"Z\n{date}{self._scope_tail}\n",
                self._presigner.signing_key(date),
                dt.datetime.fromtimestamp(start + self._seconds, dt.UTC),
            )
        _, auth, sts_head, sts_tail, key, expires_base = parts
        text = SECOND_TEXT[within]
        auth = f"{auth}{text}Z"
        return (
            second,
            auth + self._tail_canon,
            auth + self._tail_url,
            f"{sts_head}{text}{sts_tail}",
            key,
            expires_base + SECOND_DELTA[within],
        )

    def sign_keys(
        self, keys: Sequence[str], *, at: dt.datetime | None = None, user: str | None = None
    ) -> list[SignedRequest]:
        timing = self._times(at)
        _, canon_q, url_q, sts_prefix, signing_key, expires_at = timing
        if user is not None:
            user_pair = self._user_q + _q(user)
            url_q = f"{user_pair}&{url_q}"
            if self._user_last:
                canon_q = f"{canon_q}&{user_pair}"
            else:
                canon_q = "&".join(sorted([*canon_q.split("&"), user_pair]))
        method, base = self._method, self._base
        head, tail = self._canon_head, self._canon_tail
        sha256, digest = hashlib.sha256, hmac.digest
        out: list[SignedRequest] = []
        append = out.append
        for key in keys:
            path = _UNSAFE_PATH.sub(_escape, key)
            to_sign = sts_prefix + sha256(f"{head}{path}\n{canon_q}{tail}".encode()).hexdigest()
            signature = digest(signing_key, to_sign.encode(), "sha256").hex()
            append(
                SignedRequest(
                    method=method,
                    url=f"{base}{path}?{url_q}&X-Amz-Signature={signature}",
                    headers={},
                    expires_at=expires_at,
                    key=key,
                )
            )
        return out
