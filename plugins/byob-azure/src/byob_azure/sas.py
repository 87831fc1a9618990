"""Blob SAS tokens signed by our own HMAC-SHA256 code, byte-identical to azure-storage-blob.

Two kinds of service SAS for one blob (``sr=b``, or ``sr=bv`` for a version):

* signed with the storage **account key** (instance stores);
* signed with a **user delegation key** (stores that authenticate with Entra ID); the key
  is fetched once through the SDK (see `byob_azure.clients`) and handed in here.

The field order of the string-to-sign and of the query string follows
``azure.storage.blob.generate_blob_sas`` of azure-storage-blob 12.x for signed versions
from 2020-12-06 on (the tests compare byte for byte under a frozen clock). The SDK is
never imported here: this module is the signing hot path.

String-to-sign, account key (one field a line, no trailing newline)::

    sp st se /blob/<account>/<container>/<blob> si sip spr sv sr <snapshot|version> ses
    rscc rscd rsce rscl rsct

User delegation key: after the canonical resource come skoid sktid skt ske sks skv
saoid suoid scid [skdutid sduoid], then sip spr sv sr <snapshot|version> ses [srh srq]
and the five response overrides; the bracketed fields depend on the signed version
(see `_DELEGATED_USER_VERSION` and `_REQUEST_FIELDS_VERSION`). ``scid`` (the correlation id, which carries the user's
name) is signed only in a user-delegation SAS; with an account key the SDK appends it to
the query unsigned, and so do we.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote

import attrs
from byob_core import signing as _signing
from byob_core.errors import SigningError
from byob_core.signing import SECOND_DELTA, SECOND_TEXT, SignedRequest, SignRequest

#: Seven days. An account-key SAS has no service limit, but a user-delegation SAS cannot
#: outlive its delegation key (at most 7 days); one bound for both auth modes keeps a
#: URL's lifetime independent of how the store authenticates, and matches S3's limit.
MAX_EXPIRY = dt.timedelta(days=7)
#: The signed version (``sv``) byob writes. Any version from 2020-12-06 on has the
#: account-key string-to-sign above; 2025-11-05 is the newest version Azurite knows, so
#: the tests can check both SAS kinds end to end. A store may pin another with the
#: option ``sas_version``.
SIGNED_VERSION = "2025-11-05"
_OLDEST_VERSION = "2020-12-06"
#: User-delegation SAS fields by signed version. From 2025-07-05 the string-to-sign has
#: the delegated user's tenant and object ids (skdutid, sduoid) after scid; Azurite
#: (Microsoft's emulator) checks exactly that. azure-storage-blob 12.31 also always
#: signs two fields for required request headers and query parameters (srh, srq) after
#: ses, whatever the version, while Azurite refuses them up to its newest version
#: 2025-11-05: they belong to a later version. 2026-04-06 is our reading of when (the
#: SDK release that added them targets it); the SDK's own version has them.
_DELEGATED_USER_VERSION = "2025-07-05"
_REQUEST_FIELDS_VERSION = "2026-04-06"

#: The permission a method needs (Azure order "racwdxytmei"). A PUT gets ``w``, which
#: creates or overwrites a blob and allows Put Block and Put Block List.
PERMISSIONS = {"GET": "r", "HEAD": "r", "PUT": "w", "DELETE": "d"}

#: Response header overrides: accepted spellings -> SAS field.
_OVERRIDES = {
    "cache-control": "rscc",
    "content-disposition": "rscd",
    "content-encoding": "rsce",
    "content-language": "rscl",
    "content-type": "rsct",
}
_OVERRIDE_FIELDS = ("rscc", "rscd", "rsce", "rscl", "rsct")


def format_time(value: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, as the SDK writes ``st`` and ``se``."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


#: What quote() leaves alone with safe="/" (and "~", always unreserved): most keys and
#: user names are all of it, and a regex match is far cheaper than quoting.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.\-~/]*").fullmatch


_SPACED = re.compile(r"[A-Za-z0-9_.\-~/ ]*").fullmatch


def _path(blob: str) -> str:
    """A blob name as a URL path, as ``quote(blob, safe="/~")`` writes it, but cheaper."""
    if _UNQUOTED(blob):
        return blob
    if _SPACED(blob):
        return blob.replace(" ", "%20")
    return quote(blob, safe="/~")


def _q(value: str) -> str:
    # The SDK quotes every query value with urllib's default (only "/" kept as is).
    return value if _UNQUOTED(value) else quote(value)


def _quote_sig(sig: str) -> str:
    # base64 text: only "+" and "=" need escaping; "/" stays, as quote() leaves it.
    return sig.replace("+", "%2B").replace("=", "%3D")


def decode_key(account_key: str) -> bytes:
    """The raw bytes of a base64 account (or delegation) key."""
    try:
        return base64.b64decode(account_key, validate=True)
    except (ValueError, TypeError) as exc:
        raise SigningError(
            "the Azure account key is not valid base64",
            hint="copy the key from the storage account's Access keys page",
        ) from exc


@attrs.frozen(kw_only=True, repr=False)
class DelegationKey:
    """A user delegation key (Get User Delegation Key), the SDK's ``UserDelegationKey``."""

    signed_oid: str
    signed_tid: str
    signed_start: str
    signed_expiry: str
    signed_service: str
    signed_version: str
    value: str
    signed_delegated_user_tid: str | None = None

    def __repr__(self) -> str:
        return f"DelegationKey(oid={self.signed_oid!r}, expiry={self.signed_expiry!r}, value=***)"

    @property
    def expiry(self) -> dt.datetime:
        return dt.datetime.strptime(self.signed_expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def blob_sas(
    account: str,
    container: str,
    blob: str,
    *,
    key: bytes,
    permission: str,
    expiry: str,
    start: str | None = None,
    version: str = SIGNED_VERSION,
    delegation: DelegationKey | None = None,
    snapshot: str | None = None,
    version_id: str | None = None,
    policy_id: str | None = None,
    ip: str | None = None,
    protocol: str | None = None,
    encryption_scope: str | None = None,
    correlation_id: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The SAS token (query string without ``?``) for one blob, field by field.

    The general form: every field ``generate_blob_sas`` knows and byob uses. `key` is the
    decoded account key, or the decoded delegation key value when `delegation` is given.
    `overrides` maps ``rscc``/``rscd``/``rsce``/``rscl``/``rsct`` to response headers.

    >>> blob_sas("acct", "cont", "a.txt", key=b"k", permission="r",
    ...          expiry="2030-01-01T00:00:00Z")[:44]
    'se=2030-01-01T00%3A00%3A00Z&sp=r&sv=2025-11-05'
    """
    if version < _OLDEST_VERSION:
        raise SigningError(f"signed version {version!r} is older than {_OLDEST_VERSION}")
    if snapshot and version_id:
        raise SigningError("a SAS names a snapshot or a version, not both")
    over = overrides or {}
    resource = "bv" if version_id else ("bs" if snapshot else "b")
    stamp = version_id or snapshot or ""
    canonical = f"/blob/{account}/{container}/{blob}"
    fields = [permission, start or "", expiry, canonical]
    if delegation is None:
        fields.append(policy_id or "")
    else:
        fields += [
            delegation.signed_oid,
            delegation.signed_tid,
            delegation.signed_start,
            delegation.signed_expiry,
            delegation.signed_service,
            delegation.signed_version,
            "",  # saoid
            "",  # suoid
            correlation_id or "",
        ]
        if version >= _DELEGATED_USER_VERSION:
            fields += [delegation.signed_delegated_user_tid or "", ""]  # skdutid, sduoid
    fields += [ip or "", protocol or "", version, resource, stamp, encryption_scope or ""]
    if delegation is not None and version >= _REQUEST_FIELDS_VERSION:
        fields += ["", ""]  # srh, srq: byob requires no request headers or parameters
    fields += [over.get(name) or "" for name in _OVERRIDE_FIELDS]
    sig = base64.b64encode(hmac.digest(key, "\n".join(fields).encode(), "sha256")).decode()

    query: list[tuple[str, str | None]] = [
        ("st", start),
        ("se", expiry),
        ("sp", permission),
        ("sip", ip),
        ("spr", protocol),
        ("sv", version),
        ("si", policy_id if delegation is None else None),
        ("sr", resource),
        *((name, over.get(name)) for name in _OVERRIDE_FIELDS),
        ("ses", encryption_scope),
        ("scid", correlation_id),
    ]
    if delegation is not None:
        query += [
            ("skoid", delegation.signed_oid),
            ("sktid", delegation.signed_tid),
            ("skt", delegation.signed_start),
            ("ske", delegation.signed_expiry),
            ("sks", delegation.signed_service),
            ("skv", delegation.signed_version),
            ("skdutid", delegation.signed_delegated_user_tid),
        ]
    parts = [f"{name}={_q(value)}" for name, value in query if value]
    parts.append(f"sig={_quote_sig(sig)}")
    return "&".join(parts)


def _overrides(request: SignRequest) -> dict[str, str]:
    found: dict[str, str] = {}
    if request.content_type and request.method in ("GET", "HEAD"):
        found["rsct"] = request.content_type
    for name, value in request.response_headers.items():
        lowered = name.lower().removeprefix("response-")
        field = _OVERRIDES.get(lowered) or (lowered if lowered in _OVERRIDE_FIELDS else None)
        if field is None:
            raise SigningError(
                f"Azure cannot override the response header {name!r}",
                hint="use Cache-Control, Content-Disposition, Content-Encoding, "
                "Content-Language or Content-Type",
            )
        found[field] = value
    return found


class BlobSigner:
    """Signs many blob URLs of one container with one key; built once per store.

    `base_url` is the blob endpoint with the account (``https://acct.blob.core.windows.net``
    or ``http://127.0.0.1:10000/devstoreaccount1``). The common case (no overrides, no
    version, no start) is a single f-string around a precomputed template.
    """

    def __init__(
        self,
        *,
        account: str,
        container: str,
        base_url: str,
        key: bytes,
        delegation: DelegationKey | None = None,
        version: str = SIGNED_VERSION,
        protocol: str | None = None,
        user_param: str = "scid",
    ) -> None:
        if version < _OLDEST_VERSION:
            raise SigningError(f"signed version {version!r} is older than {_OLDEST_VERSION}")
        self.account = account
        self.container = container
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.delegation = delegation
        self.version = version
        self.protocol = protocol
        self._canon = f"/blob/{account}/{container}/"
        self._url = f"{self.base_url}/{quote(container, safe='')}/"
        spr = protocol or ""
        # Everything after the canonical resource in the fast path, except scid (UDK).
        if delegation is None:
            # si, sip, spr, sv, sr, then seven empty fields: snapshot, ses, rscc..rsct.
            self._tail = f"\n\n\n{spr}\n{version}\nb" + "\n" * 7
            self._udk_head = ""
            self._udk_query = ""
        else:
            d = delegation
            self._udk_head = (
                f"\n{d.signed_oid}\n{d.signed_tid}\n{d.signed_start}\n{d.signed_expiry}"
                f"\n{d.signed_service}\n{d.signed_version}\n\n\n"
            )
            # [skdutid, sduoid,] sip, spr, sv, sr, then empty fields: snapshot, ses,
            # [srh, srq,] rscc..rsct.
            tid = d.signed_delegated_user_tid or ""
            users = f"\n{tid}\n" if version >= _DELEGATED_USER_VERSION else ""
            empties = 9 if version >= _REQUEST_FIELDS_VERSION else 7
            self._tail = f"{users}\n\n{spr}\n{version}\nb" + "\n" * empties
            self._udk_query = "".join(
                f"&{name}={_q(value)}"
                for name, value in (
                    ("skoid", d.signed_oid),
                    ("sktid", d.signed_tid),
                    ("skt", d.signed_start),
                    ("ske", d.signed_expiry),
                    ("sks", d.signed_service),
                    ("skv", d.signed_version),
                    ("skdutid", d.signed_delegated_user_tid),
                )
                if value
            )
        self._mid = (f"&spr={_q(spr)}" if spr else "") + f"&sv={version}&sr=b"
        self._last_expiry: tuple[dt.datetime | None, str, str] = (None, "", "")
        self._scid: dict[str | None, str] = {}
        self._key_expiry = delegation.expiry if delegation is not None else None

    def __repr__(self) -> str:
        kind = "user-delegation" if self.delegation else "account-key"
        return f"BlobSigner({self.account}/{self.container}, {kind}, sv={self.version})"

    def prepare(
        self,
        method: str,
        lifetime: dt.timedelta,
        *,
        renew: Callable[[dt.datetime], BlobSigner] | None = None,
    ) -> PreparedBlobSigner:
        """A signer of plain `method` requests living `lifetime`: `byob_signer`'s answer."""
        return PreparedBlobSigner(self, method, lifetime, renew=renew)

    def url(self, blob: str) -> str:
        """The unsigned URL of a blob."""
        return self._url + _path(blob)

    def _expiry(self, at: dt.datetime) -> tuple[str, str]:
        last, text, quoted = self._last_expiry
        if last != at:
            text = format_time(at)
            quoted = text.replace(":", "%3A")
            self._last_expiry = (at, text, quoted)
        return text, quoted

    def token(
        self,
        blob: str,
        permission: str,
        expires_at: dt.datetime,
        *,
        user: str | None = None,
        start: dt.datetime | None = None,
        version_id: str | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> str:
        """The SAS token of one blob; the fast path when only user and expiry vary."""
        if start is not None or version_id or overrides:
            return blob_sas(
                self.account,
                self.container,
                blob,
                key=self._key,
                permission=permission,
                expiry=format_time(expires_at),
                start=format_time(start) if start is not None else None,
                version=self.version,
                delegation=self.delegation,
                version_id=version_id,
                protocol=self.protocol,
                correlation_id=user,
                overrides=overrides,
            )
        se, se_q = self._expiry(expires_at)
        if self.delegation is None:
            sts = f"{permission}\n\n{se}\n{self._canon}{blob}{self._tail}"
        else:
            sts = (
                f"{permission}\n\n{se}\n{self._canon}{blob}{self._udk_head}{user or ''}{self._tail}"
            )
        sig = base64.b64encode(hmac.digest(self._key, sts.encode(), "sha256")).decode()
        scid = self._scid.get(user) if user else ""
        if scid is None:
            # Users repeat across a batch: quote each once (bounded memory).
            if len(self._scid) > 4096:
                self._scid.clear()
            scid = self._scid[user] = f"&scid={_q(user)}"
        return f"se={se_q}&sp={permission}{self._mid}{scid}{self._udk_query}&sig={_quote_sig(sig)}"

    def sign(self, requests: Sequence[SignRequest]) -> list[SignedRequest]:
        """One `SignedRequest` per request, in order (``at`` and ``expires`` already set)."""
        out: list[SignedRequest] = []
        append = out.append
        base = self._url
        key_expiry = self._key_expiry
        for request in requests:
            at, expires = request.at, request.expires
            if at is None or expires is None:
                raise SigningError("a sign request reached the signer without at/expires")
            expires_at = at + expires
            if key_expiry is not None and expires_at > key_expiry:
                raise SigningError(
                    "the URL would outlive the user delegation key that signs it",
                    hint="use a shorter lifetime (a delegation key lives at most 7 days)",
                )
            method = request.method
            key = request.key
            overrides = (
                _overrides(request) if (request.response_headers or request.content_type) else None
            )
            token = self.token(
                key,
                PERMISSIONS[method],
                expires_at,
                user=request.user,
                version_id=request.version_id,
                overrides=overrides,
            )
            # Operation parameters (comp=block&blockid=..., versionid) before the SAS.
            extra = "".join(
                f"{quote(name, safe='')}={quote(value, safe='')}&"
                for name, value in request.params.items()
            )
            if request.version_id:
                extra += f"versionid={quote(request.version_id, safe='')}&"
            headers: dict[str, str] = {}
            if method == "PUT":
                if not request.params:
                    headers["x-ms-blob-type"] = "BlockBlob"
                if request.content_type:
                    headers["Content-Type"] = request.content_type
            if request.content_md5:
                headers["Content-MD5"] = request.content_md5
            append(
                SignedRequest(
                    method=method,
                    url=f"{base}{_path(key)}?{extra}{token}",
                    headers=headers,
                    expires_at=expires_at,
                    key=key,
                )
            )
        return out


class PreparedBlobSigner:
    """A `BlobSigner` fixed to one method and lifetime, for plain requests (a `KeySigner`).

    The expiry fields are built once per signing second; a URL costs one f-string for the
    string-to-sign, one HMAC and one for the URL. Byte-identical to `BlobSigner.sign` on
    ``SignRequest(key, method, expires, at, user)``. With a user delegation key, `renew`
    (given `until`, returns a signer whose key lives that long) is called when a URL
    would outlive the key.
    """

    def __init__(
        self,
        signer: BlobSigner,
        method: str,
        lifetime: dt.timedelta,
        *,
        renew: Callable[[dt.datetime], BlobSigner] | None = None,
    ) -> None:
        self._method = method
        self._permission = PERMISSIONS[method]
        self._seconds = int(lifetime.total_seconds())
        self._lifetime = dt.timedelta(seconds=self._seconds)
        self._headers = {"x-ms-blob-type": "BlockBlob"} if method == "PUT" else None
        self._renew = renew
        self._now: tuple[object, str, str, dt.datetime] = (None, "", "", dt.datetime.min)
        self._given: tuple[object, str, str, dt.datetime] = (None, "", "", dt.datetime.min)
        self._minute: tuple[object, str, str, dt.datetime] = (None, "", "", dt.datetime.min)
        self._bind(signer)

    def _bind(self, signer: BlobSigner) -> None:
        self._signer = signer
        self._key = signer._key
        self._key_expiry = signer._key_expiry
        self._sts_head = f"{self._permission}\n\n"
        self._canon = f"\n{signer._canon}"
        self._udk_head = signer._udk_head if signer.delegation is not None else None
        self._sts_tail = signer._tail
        self._query_mid = f"&sp={self._permission}{signer._mid}"
        self._udk_query = signer._udk_query
        self._url = signer._url
        self._scid = signer._scid

    def __repr__(self) -> str:
        return f"PreparedBlobSigner({self._signer!r}, {self._method}, {self._seconds} s)"

    def _expiry(
        self, when: object, expires_at: dt.datetime
    ) -> tuple[object, str, str, dt.datetime]:
        if expires_at.tzinfo is not dt.UTC:
            expires_at = expires_at.astimezone(dt.UTC)
        se = "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
            expires_at.year,
            expires_at.month,
            expires_at.day,
            expires_at.hour,
            expires_at.minute,
            expires_at.second,
        )
        return (when, se, se.replace(":", "%3A"), expires_at)

    def sign_keys(
        self, keys: Sequence[str], *, at: dt.datetime | None = None, user: str | None = None
    ) -> list[SignedRequest]:
        if at is None:
            second = int(_signing.clock())
            timing = self._now
            if timing[0] != second:
                # The expiry's minute is formatted once a minute; each second adds two digits.
                minute, within = divmod(second + self._seconds, 60)
                parts = self._minute
                if parts[0] != minute:
                    first = self._expiry(None, dt.datetime.fromtimestamp(minute * 60, dt.UTC))
                    parts = self._minute = (minute, first[1][:-3], first[2][:-3], first[3])
                _, se, se_q, base = parts
                text = SECOND_TEXT[within]
                timing = self._now = (
                    second,
                    f"{se}{text}Z",
                    f"{se_q}{text}Z",
                    base + SECOND_DELTA[within],
                )
        else:
            timing = self._given
            if timing[0] != at:
                timing = self._given = self._expiry(at, at + self._lifetime)
        _, se, se_q, expires_at = timing
        if not keys:
            return []
        if self._key_expiry is not None and expires_at > self._key_expiry:
            if self._renew is not None:
                self._bind(self._renew(expires_at))
            if self._key_expiry is not None and expires_at > self._key_expiry:
                raise SigningError(
                    "the URL would outlive the user delegation key that signs it",
                    hint="use a shorter lifetime (a delegation key lives at most 7 days)",
                )
        if user:
            scid = self._scid.get(user)
            if scid is None:
                if len(self._scid) > 4096:
                    self._scid.clear()
                scid = self._scid[user] = f"&scid={_q(user)}"
        else:
            scid = ""
        head = f"{self._sts_head}{se}{self._canon}"
        if self._udk_head is not None:
            tail = f"{self._udk_head}{user or ''}{self._sts_tail}"
        else:
            tail = self._sts_tail
        query_head = f"?se={se_q}{self._query_mid}{scid}{self._udk_query}&sig="
        method, url, key_bytes, headers = self._method, self._url, self._key, self._headers
        digest, b64 = hmac.digest, base64.b64encode
        out: list[SignedRequest] = []
        append = out.append
        for blob in keys:
            sig = b64(digest(key_bytes, f"{head}{blob}{tail}".encode(), "sha256")).decode()
            append(
                SignedRequest(
                    method=method,
                    url=f"{url}{_path(blob)}{query_head}{_quote_sig(sig)}",
                    headers=dict(headers) if headers else {},
                    expires_at=expires_at,
                    key=blob,
                )
            )
        return out
