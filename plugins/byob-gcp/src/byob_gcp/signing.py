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
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from byob_core.errors import SigningError
from byob_core.signing import DEFAULT_EXPIRES, SignedRequest, SignRequest, utcnow

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


def _q(text: str) -> str:
    # quote() keeps one quoter per safe set; passing the constant reuses it.
    return quote(text, safe=QUERY_SAFE)


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
        # The time stamps of the last signing time: a batch is signed at one instant.
        self._last_at: dt.datetime | None = None
        self._stamps = ("", "", "")

    def __repr__(self) -> str:  # never the key material
        return f"{type(self).__name__}(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    # -- the signature, per key kind ----------------------------------------------------
    def _signature(self, string_to_sign: bytes, datestamp: str) -> str:
        raise NotImplementedError

    # -- the canonical request ------------------------------------------------------------
    def _time(self, at: dt.datetime) -> tuple[str, str, str]:
        """(timestamp, datestamp, credential) of a signing time, cached for a batch."""
        if at != self._last_at:
            at = at.astimezone(dt.UTC) if at.tzinfo else at
            timestamp = at.strftime("%Y%m%dT%H%M%SZ")
            datestamp = timestamp[:8]
            scope = f"{datestamp}/auto/storage/goog4_request"
            self._stamps = (timestamp, scope, f"{self.credential_id}/{scope}")
            self._last_at = at
        return self._stamps

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
        resource = self._bucket_path + quote(key, safe=PATH_SAFE) if key else self._bucket_path[:-1]

        query = [
            f"X-Goog-Algorithm={self.algorithm}",
            f"X-Goog-Credential={_q(credential)}",
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
            header_block = f"host:{self.host}\n"
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
        signature = self._signature(string_to_sign, self._stamps[0][:8])
        return f"{self.endpoint}{resource}?{query}&X-Goog-Signature={signature}"

    # -- byob requests ----------------------------------------------------------------------
    def sign(self, request: SignRequest, *, user_param: str = "X-User") -> SignedRequest:
        """Sign one `SignRequest` (its key is the full object key)."""
        at = request.at or utcnow()
        lifetime = request.expires or DEFAULT_EXPIRES[request.method]
        params: dict[str, str] = dict(request.params)
        if request.user is not None:
            params[user_param] = request.user
        if request.version_id:
            params["generation"] = request.version_id
        for name, value in request.response_headers.items():
            lower = name.lower()
            params[lower if lower.startswith("response-") else f"response-{lower}"] = value
        headers: dict[str, str] = {}
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
        self._day = ""
        self._signing_key = b""

    def signing_key(self, datestamp: str) -> bytes:
        """The derived key of one day (``GOOG4`` + secret, date, ``auto``, ``storage``)."""
        if datestamp != self._day:
            key = self._secret
            for part in (datestamp, "auto", "storage", "goog4_request"):
                key = hmac.new(key, part.encode("ascii"), hashlib.sha256).digest()
            self._signing_key, self._day = key, datestamp
        return self._signing_key

    def _signature(self, string_to_sign: bytes, datestamp: str) -> str:
        key = self._signing_key if datestamp == self._day else self.signing_key(datestamp)
        return hmac.new(key, string_to_sign, hashlib.sha256).hexdigest()


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
