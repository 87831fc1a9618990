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
from byob_core.errors import SigningError
from byob_core.signing import DEFAULT_EXPIRES, SignedRequest, SignRequest

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
