"""V4 signed URLs for Google Cloud Storage, of our own: GOOG4-RSA-SHA256 and GOOG4-HMAC-SHA256.

A `gs://` store carries one of two key kinds: a service-account RSA key (signed with
`cryptography`, the loaded key kept for the signer's life) or an HMAC key (the signing
key derived once per day). Both share one canonical request; the RSA URLs are
byte-identical to google-cloud-storage's ``blob.generate_signed_url(version="v4")`` for
the same key, clock and inputs, which the differential tests prove. No Google SDK is
imported here: signing is the hot path.

>>> import datetime as dt
>>> signer = HmacSigner(bucket="acme", access_id="GOOG1EXAMPLE", secret="c2VjcmV0")
>>> at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
>>> url = signer.sign_url("GET", "runs/a b.txt", at=at, expires=3600)
>>> url.split("?")[0]
'https://storage.googleapis.com/acme/runs/a%20b.txt'
"""

from __future__ import annotations

import binascii
import concurrent.futures
import datetime as dt
import functools
import hashlib
import hmac
import os
import re
import string
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from byob_core import signing as _signing
from byob_core.errors import SigningError
from byob_core.signing import (
    DEFAULT_EXPIRES,
    SECOND_DELTA,
    SECOND_TEXT,
    SignedRequest,
    SignRequest,
    utcnow,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

#: The public endpoint; path-style URLs (``/<bucket>/<key>``), as google-cloud-storage signs.
DEFAULT_ENDPOINT = "https://storage.googleapis.com"
RSA_ALGORITHM = "GOOG4-RSA-SHA256"
HMAC_ALGORITHM = "GOOG4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: V4 signatures live at most 7 days.
MAX_EXPIRES = 7 * 24 * 3600
#: What google-cloud-storage leaves unescaped in the object path and in query names/values.
PATH_SAFE = "/~"
QUERY_SAFE = "~"


_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-_.~")
#: Percent-escapes of every ASCII character quote() would escape: str.translate applies
#: them in C, several times faster than quote() for the ASCII keys that are the rule.
_QUERY_TABLE = {i: f"%{i:02X}" for i in range(128) if chr(i) not in _UNRESERVED}
_PATH_TABLE = {i: e for i, e in _QUERY_TABLE.items() if chr(i) != "/"}


@functools.lru_cache(maxsize=4096)
def _q(text: str) -> str:
    """Quote a query name or value as google-cloud-storage does (``quote(safe="~")``).

    Cached: names, users and upload ids repeat across a batch; object keys do not and
    go through `_quote_path`.
    """
    return text.translate(_QUERY_TABLE) if text.isascii() else quote(text, safe=QUERY_SAFE)


_UNSAFE_PATH = re.compile(r"[^A-Za-z0-9\-_.~/]")
_ASCII_ESCAPES = {chr(i): e for i, e in _PATH_TABLE.items()}


def _escape(match: re.Match[str]) -> str:
    return _ASCII_ESCAPES[match.group()]


def _quote_path(key: str) -> str:
    """Quote an object key as google-cloud-storage does (``quote(safe="/~")``).

    For ASCII keys a regex substitution that touches only the characters to escape:
    most keys have none or a few, and it is several times cheaper than `str.translate`.
    """
    return _UNSAFE_PATH.sub(_escape, key) if key.isascii() else quote(key, safe=PATH_SAFE)


class V4Signer:
    """Signs V4 URLs for one bucket; subclasses supply the signature of a string-to-sign.

    Built once per store (the key material is decoded in the constructor) and then
    used for many keys: `sign_many` is the primitive of `byob_sign`.
    """

    algorithm = ""

    def __init__(
        self, *, bucket: str, credential_id: str, endpoint: str = DEFAULT_ENDPOINT
    ) -> None:
        if not bucket:
            raise SigningError("a GCS signer needs a bucket")
        self.bucket = bucket
        self.credential_id = credential_id
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).netloc
        self._bucket_path = f"/{bucket}/"
        self._host_line = f"host:{self.host}\n"
        # The time stamps of the last signing time: a batch is signed at one instant.
        # (signing time, its stamps), replaced as one tuple so that threads never see a
        # time paired with another time's stamps.
        self._stamps_of: tuple[dt.datetime | None, tuple[str, str, str]] = (None, ("", "", ""))

    def __repr__(self) -> str:  # never the key material
        return f"{type(self).__name__}(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    # -- the signature, per key kind ----------------------------------------------------
    def _signature(self, string_to_sign: bytes, datestamp: str) -> str:
        raise NotImplementedError

    # -- the canonical request ------------------------------------------------------------
    def _time(self, at: dt.datetime) -> tuple[str, str, str]:
        """(timestamp, scope, quoted credential) of a signing time, cached for a batch."""
        cached_at, stamps = self._stamps_of
        if at != cached_at:
            utc = at.astimezone(dt.UTC) if at.tzinfo else at
            timestamp = utc.strftime("%Y%m%dT%H%M%SZ")
            scope = f"{timestamp[:8]}/auto/storage/goog4_request"
            stamps = (timestamp, scope, _q(f"{self.credential_id}/{scope}"))
            self._stamps_of = (at, stamps)
        return stamps

    def canonical(
        self,
        method: str,
        key: str,
        *,
        at: dt.datetime,
        expires: int,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[str, str, str, bytes]:
        """(resource, canonical query, canonical request, string-to-sign) of a request.

        Exposed for the differential tests; `sign_url` is what callers use.
        """
        if not 1 <= expires <= MAX_EXPIRES:
            raise SigningError(
                f"a V4 signature lives 1 to {MAX_EXPIRES} seconds, not {expires}",
                hint="use a shorter lifetime",
            )
        timestamp, scope, credential = self._time(at)
        # An empty key addresses the bucket itself (XML ``GET /<bucket>?uploads``).
        resource = self._bucket_path + _quote_path(key) if key else self._bucket_path[:-1]

        query = [
            f"X-Goog-Algorithm={self.algorithm}",
            f"X-Goog-Credential={credential}",
            f"X-Goog-Date={timestamp}",
            f"X-Goog-Expires={expires}",
        ]
        if headers:
            canon: dict[str, str] = {"host": self.host}
            for name, value in headers.items():
                lower = name.lower().strip()
                value = " ".join(value.split())
                canon[lower] = f"{canon[lower]},{value}" if lower in canon else value
            ordered = sorted(canon.items())
            signed_headers = ";".join(name for name, _ in ordered)
            header_block = "".join(f"{name}:{value}\n" for name, value in ordered)
        else:
            signed_headers = "host"
            header_block = self._host_line
        query.append(f"X-Goog-SignedHeaders={_q(signed_headers)}")
        if params:
            query.extend(f"{_q(name)}={_q(value or '')}" for name, value in params.items())
        # google-cloud-storage sorts the encoded "name=value" strings; so do we.
        query.sort()
        canonical_query = "&".join(query)

        canonical_request = (
            f"{method}\n{resource}\n{canonical_query}\n{header_block}\n"
            f"{signed_headers}\n{UNSIGNED_PAYLOAD}"
        )
        try:
            digest = hashlib.sha256(canonical_request.encode("ascii")).hexdigest()
        except UnicodeEncodeError as exc:
            raise SigningError(
                "a signed header value must be ASCII", hint="check content type and MD5"
            ) from exc
        string_to_sign = f"{self.algorithm}\n{timestamp}\n{scope}\n{digest}".encode("ascii")
        return resource, canonical_query, canonical_request, string_to_sign

    def sign_url(
        self,
        method: str,
        key: str,
        *,
        at: dt.datetime,
        expires: int,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """The signed URL of `method` on object `key` (any HTTP method: POST signs XML multipart).

        `params` are query parameters the signature covers (``X-User``, ``uploadId``,
        ``generation``); `headers` are headers the client must send with exactly these
        values (``Content-Type``, ``Content-MD5``). ``host`` is always signed.
        """
        resource, query, _, string_to_sign = self.canonical(
            method, key, at=at, expires=expires, params=params, headers=headers
        )
        # The string-to-sign's second line is the timestamp; its first 8 bytes are the day.
        start = len(self.algorithm) + 1
        signature = self._signature(string_to_sign, string_to_sign[start : start + 8].decode())
        return f"{self.endpoint}{resource}?{query}&X-Goog-Signature={signature}"

    # -- byob requests ----------------------------------------------------------------------
    def sign(self, request: SignRequest, *, user_param: str = "X-User") -> SignedRequest:
        """Sign one `SignRequest` (its key is the full object key)."""
        at = request.at or utcnow()
        lifetime = request.expires or DEFAULT_EXPIRES[request.method]
        params: Mapping[str, str] = request.params
        if request.user is not None or request.version_id or request.response_headers:
            params = dict(params)
            if request.user is not None:
                params[user_param] = request.user
            if request.version_id:
                params["generation"] = request.version_id
            for name, value in request.response_headers.items():
                lower = name.lower()
                params[lower if lower.startswith("response-") else f"response-{lower}"] = value
        headers: dict[str, str] = {}
        if request.content_type or request.content_md5:
            if request.content_type:
                headers["Content-Type"] = request.content_type
            if request.content_md5:
                headers["Content-MD5"] = request.content_md5
        url = self.sign_url(
            request.method,
            request.key,
            at=at,
            expires=int(lifetime.total_seconds()),
            params=params,
            headers=headers,
        )
        return SignedRequest(
            method=request.method,
            url=url,
            headers=headers,
            expires_at=at + lifetime,
            key=request.key,
        )

    def sign_many(
        self, requests: Iterable[SignRequest], *, user_param: str = "X-User"
    ) -> list[SignedRequest]:
        """Sign each request, in order."""
        return [self.sign(r, user_param=user_param) for r in requests]

    def prepare(
        self, method: str, lifetime: dt.timedelta, *, user_param: str = "X-User"
    ) -> PreparedV4Signer:
        """A signer of plain `method` requests living `lifetime`: `byob_signer`'s answer."""
        return PreparedV4Signer(self, method, lifetime, user_param=user_param)


#: Below this many requests a batch is signed on the calling thread.
PARALLEL_THRESHOLD = 32
_pool_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _workers() -> int:
    return min(8, os.cpu_count() or 1)


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=_workers(), thread_name_prefix="byob-gcs-rsa"
            )
        return _pool


class RsaSigner(V4Signer):
    """GOOG4-RSA-SHA256 with a service account's private key (PKCS#1 v1.5, SHA-256).

    The PEM is parsed once, here; parsing costs as much as dozens of signatures.
    """

    algorithm = RSA_ALGORITHM

    def __init__(
        self,
        *,
        bucket: str,
        service_account: str,
        private_key: str | bytes | RSAPrivateKey,
        endpoint: str = DEFAULT_ENDPOINT,
    ) -> None:
        super().__init__(bucket=bucket, credential_id=service_account, endpoint=endpoint)
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        key: Any = private_key
        if isinstance(key, str | bytes):
            key = load_private_key(key)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SigningError("the service account key is not an RSA private key")
        self._key_sign = key.sign
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()

    def _signature(self, string_to_sign: bytes, datestamp: str) -> str:
        raw = self._key_sign(string_to_sign, self._padding, self._hash)
        return binascii.hexlify(raw).decode("ascii")

    def sign_many(
        self, requests: Iterable[SignRequest], *, user_param: str = "X-User"
    ) -> list[SignedRequest]:
        """Sign each request, in order; large batches on a thread per core.

        The RSA private-key operation is nearly all the cost, and `cryptography` releases
        the GIL while it runs, so a batch spread over the cores signs that much faster.
        """
        batch = list(requests)
        workers = _workers()
        if workers < 2 or len(batch) < PARALLEL_THRESHOLD:
            return [self.sign(r, user_param=user_param) for r in batch]
        size = -(-len(batch) // workers)
        chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
        sign = super().sign_many
        done = _executor().map(lambda chunk: sign(chunk, user_param=user_param), chunks)
        return [signed for chunk in done for signed in chunk]


class IamSigner(V4Signer):
    """GOOG4-RSA-SHA256 for an impersonated service account: the IAM Credentials API signs.

    No key leaves Google: each string-to-sign goes to ``signBlob`` of the service account
    (`sign_blob`, one HTTPS call per URL), called with the source identity's token, which
    needs ``roles/iam.serviceAccountTokenCreator`` on that service account. The URLs are
    the ones google-cloud-storage makes with the service account's own key.
    """

    algorithm = RSA_ALGORITHM

    def __init__(
        self,
        *,
        bucket: str,
        service_account: str,
        sign_blob: Any,
        endpoint: str = DEFAULT_ENDPOINT,
    ) -> None:
        super().__init__(bucket=bucket, credential_id=service_account, endpoint=endpoint)
        self._sign_blob = sign_blob

    def _signature(self, string_to_sign: bytes, datestamp: str) -> str:
        return binascii.hexlify(self._sign_blob(string_to_sign)).decode("ascii")


#: Per signing second: (second or time, canonical query, string-to-sign prefix, day, expires_at).
_Timing = tuple[Any, str, bytes, str, dt.datetime]


class PreparedV4Signer(_signing.PreparedTimes):
    """A `V4Signer` fixed to one method and lifetime, for plain requests (a `KeySigner`).

    The canonical query of a plain request depends only on the time and the user; it is
    built once per signing second (a few microseconds when the second changes), the
    rest is templates. Byte-identical to `V4Signer.sign_many` on ``SignRequest(key,
    method, expires, at, user)``; batches of an `RsaSigner` go to its thread pool.
    """

    def __init__(
        self, signer: V4Signer, method: str, lifetime: dt.timedelta, *, user_param: str
    ) -> None:
        seconds = int(lifetime.total_seconds())
        if not 1 <= seconds <= MAX_EXPIRES:
            raise SigningError(
                f"a V4 signature lives 1 to {MAX_EXPIRES} seconds, not {seconds}",
                hint="use a shorter lifetime",
            )
        self._signer = signer
        self._method = method
        self._seconds = seconds
        self._lifetime = dt.timedelta(seconds=seconds)
        self._user_param = user_param
        self._user_q = _q(user_param) + "="
        self._head = f"{method}\n{signer._bucket_path}"
        self._tail = f"\n{signer._host_line}\nhost\n{UNSIGNED_PAYLOAD}"
        self._base = signer.endpoint + signer._bucket_path
        self._expires = f"X-Goog-Expires={seconds}"
        self._now: _Timing = (None, "", b"", "", dt.datetime.min)
        self._given: _Timing = (None, "", b"", "", dt.datetime.min)
        self._parallel = isinstance(signer, RsaSigner)
        self._minute: tuple[Any, str, str, str, str, dt.datetime] = (
            None,
            "",
            "",
            "",
            "",
            dt.datetime.min,
        )

    def __repr__(self) -> str:
        return f"PreparedV4Signer({self._signer!r}, {self._method}, {self._seconds} s)"

    def _timing(self, when: Any, stamp: str, expires_at: dt.datetime) -> _Timing:
        signer = self._signer
        scope = f"{stamp[:8]}/auto/storage/goog4_request"
        query = (
            f"X-Goog-Algorithm={signer.algorithm}"
            f"&X-Goog-Credential={_q(f'{signer.credential_id}/{scope}')}"
            f"&X-Goog-Date={stamp}&{self._expires}&X-Goog-SignedHeaders=host"
        )
        prefix = f"{signer.algorithm}\n{stamp}\n{scope}\n".encode("ascii")
        return (when, query, prefix, stamp[:8], expires_at)

    def _second(self, second: int) -> _Timing:
        """The timing of `second`: the minute's templates (built once a minute) plus the second."""
        minute, within = divmod(second, 60)
        parts = self._minute
        if parts[0] != minute:
            start = minute * 60
            signer = self._signer
            stamp = "%04d%02d%02dT%02d%02d" % time.gmtime(start)[:5]  # noqa: UP031
            scope = f"{stamp[:8]}/auto/storage/goog4_request"
            parts = self._minute = (
                minute,
                f"X-Goog-Algorithm={signer.algorithm}"
                f"&X-Goog-Credential={_q(f'{signer.credential_id}/{scope}')}"
                f"&X-Goog-Date={stamp}",
                f"{signer.algorithm}\n{stamp}",
                f"Z\n{scope}\n",
                stamp[:8],
                dt.datetime.fromtimestamp(start + self._seconds, dt.UTC),
            )
        _, query, head, tail, day, expires_base = parts
        text = SECOND_TEXT[within]
        return (
            second,
            f"{query}{text}Z&{self._expires}&X-Goog-SignedHeaders=host",
            f"{head}{text}{tail}".encode("ascii"),
            day,
            expires_base + SECOND_DELTA[within],
        )

    def sign_keys(
        self, keys: Sequence[str], *, at: dt.datetime | None = None, user: str | None = None
    ) -> list[SignedRequest]:
        timing = self._times(at)
        _, query, prefix, day, expires_at = timing
        if user is not None:
            # google-cloud-storage sorts the encoded "name=value" pairs.
            query = "&".join(sorted([*query.split("&"), self._user_q + _q(user)]))
        if self._parallel and len(keys) >= PARALLEL_THRESHOLD and _workers() > 1:
            workers = _workers()
            size = -(-len(keys) // workers)
            chunks = [keys[i : i + size] for i in range(0, len(keys), size)]
            done = _executor().map(
                lambda chunk: self._sign(chunk, query, prefix, day, expires_at), chunks
            )
            return [signed for chunk in done for signed in chunk]
        return self._sign(keys, query, prefix, day, expires_at)

    def _sign(
        self, keys: Sequence[str], query: str, prefix: bytes, day: str, expires_at: dt.datetime
    ) -> list[SignedRequest]:
        method, head, tail, base = self._method, self._head, self._tail, self._base
        signature_of = self._signer._signature
        sha256 = hashlib.sha256
        out: list[SignedRequest] = []
        append = out.append
        for key in keys:
            path = _UNSAFE_PATH.sub(_escape, key) if key.isascii() else quote(key, safe=PATH_SAFE)
            digest = sha256(f"{head}{path}\n{query}{tail}".encode()).hexdigest()
            signature = signature_of(prefix + digest.encode(), day)
            append(
                SignedRequest(
                    method=method,
                    url=f"{base}{path}?{query}&X-Goog-Signature={signature}",
                    headers={},
                    expires_at=expires_at,
                    key=key,
                )
            )
        return out


class HmacSigner(V4Signer):
    """GOOG4-HMAC-SHA256 with an HMAC key (access id and secret), SigV4's scheme with GOOG4 names.

    The signing key depends on the day only, so it is derived once per day.
    """

    algorithm = HMAC_ALGORITHM

    def __init__(
        self, *, bucket: str, access_id: str, secret: str, endpoint: str = DEFAULT_ENDPOINT
    ) -> None:
        if not access_id or not secret:
            raise SigningError("an HMAC key needs both an access id and a secret")
        super().__init__(bucket=bucket, credential_id=access_id, endpoint=endpoint)
        self._secret = ("GOOG4" + secret).encode("utf-8")
        self._day_key = ("", b"")

    def signing_key(self, datestamp: str) -> bytes:
        """The derived key of one day (``GOOG4`` + secret, date, ``auto``, ``storage``)."""
        day, key = self._day_key
        if datestamp != day:
            key = self._secret
            for part in (datestamp, "auto", "storage", "goog4_request"):
                key = hmac.new(key, part.encode("ascii"), hashlib.sha256).digest()
            self._day_key = (datestamp, key)
        return key

    def _signature(self, string_to_sign: bytes, datestamp: str) -> str:
        day, key = self._day_key
        if datestamp != day:
            key = self.signing_key(datestamp)
        return hmac.digest(key, string_to_sign, "sha256").hex()


def load_private_key(pem: str | bytes) -> RSAPrivateKey:
    """Parse a PEM private key (PKCS#8 or PKCS#1), tolerating literal ``\\n`` escapes.

    A key pasted into a connection string or an environment variable often arrives
    with its newlines written as ``\\n``; google's JSON key files carry it that way too.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    text = pem.decode("utf-8") if isinstance(pem, bytes) else pem
    if "\n" not in text.strip() and "\\n" in text:
        text = text.replace("\\n", "\n")
    try:
        key = load_pem_private_key(text.strip().encode("ascii") + b"\n", password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        # The message of cryptography's error never holds the key, but keep ours plain.
        raise SigningError(
            "the service account private key is not a valid unencrypted PEM key",
            hint="give the private_key of the service account's JSON key file",
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningError("the service account key is not an RSA private key")
    return key
