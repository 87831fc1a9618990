"""Where a `gs://` store's identity comes from: its connection string, a key file, or ADC.

Three sources, in order: the service-account e-mail and private key of the connection
string (``Store.service_account`` + ``Store.credentials.private_key``) or an HMAC key
(``Store.credentials.access_key``/``secret_key``); a JSON key file named by
``store.options["key_file"]``; application default credentials (ADC), which may point at
a service-account key file through ``GOOGLE_APPLICATION_CREDENTIALS``. Signing needs key
material (an RSA or HMAC key); I/O through gcsfs takes any of the three.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from byob_core.errors import SigningError, StoreAccessError, UnsupportedError
from byob_core.stores import Store

from byob_gcp.signing import DEFAULT_ENDPOINT, HmacSigner, IamSigner, RsaSigner, V4Signer

#: gcsfs's token that sends no credentials (the emulators want none).
ANONYMOUS = "anon"
ADC = "google_default"
_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)

_lock = threading.Lock()
_signers: dict[tuple[Any, ...], V4Signer] = {}
_MAX_SIGNERS = 64


def _digest(value: str | None) -> str:
    # The cache key must tell keys apart without holding the secret itself.
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else ""


def key_file(store: Store) -> str | None:
    """The JSON key file the store's options name, if any."""
    path = store.options.get("key_file")
    return os.path.expanduser(str(path)) if path else None


def _read_key_file(path: str) -> Mapping[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SigningError(
            f"cannot read the service account key file {path}",
            hint="check the key_file setting",
        ) from exc
    if not isinstance(data, dict):
        raise SigningError(f"the key file {path} does not hold a JSON object")
    return data


def service_account_info(store: Store) -> dict[str, str] | None:
    """The service-account key of the store (connection string, then key file), or None.

    The dict has the shape of Google's JSON key files, which gcsfs and google-auth accept.
    """
    if store.service_account and store.credentials.private_key:
        email = store.service_account
        return {
            "type": "service_account",
            "client_email": email,
            "private_key": store.credentials.private_key,
            "private_key_id": "",
            "token_uri": _TOKEN_URI,
            "project_id": project_of_email(email) or "",
        }
    path = key_file(store)
    if path:
        data = _read_key_file(path)
        if data.get("type") == "service_account":
            return {k: str(v) for k, v in data.items() if isinstance(v, str)}
    return None


def _adc_service_account() -> dict[str, str] | None:
    """The service-account key behind ADC, when ``GOOGLE_APPLICATION_CREDENTIALS`` names one."""
    path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path or not os.path.isfile(path):
        return None
    data = _read_key_file(path)
    if data.get("type") != "service_account":
        return None
    return {k: str(v) for k, v in data.items() if isinstance(v, str)}


def project_of_email(email: str | None) -> str | None:
    """The project of a service account e-mail (``name@PROJECT.iam.gserviceaccount.com``)."""
    if email and email.endswith(".iam.gserviceaccount.com") and "@" in email:
        return email.split("@", 1)[1].split(".", 1)[0]
    return None


def project_of(store: Store) -> str | None:
    """The project that owns (or will own) the bucket: settings, key, then environment."""
    explicit = store.options.get("project")
    if explicit:
        return str(explicit)
    info = service_account_info(store)
    if info and info.get("project_id"):
        return info["project_id"]
    return (
        project_of_email(store.service_account)
        or os.environ.get("GOOGLE_CLOUD_PROJECT")
        or os.environ.get("GCLOUD_PROJECT")
    )


def signing_endpoint(store: Store) -> str:
    """The base URL signed URLs point at: the store's endpoint, else storage.googleapis.com."""
    return (store.endpoint_url or DEFAULT_ENDPOINT).rstrip("/")


# -- service-account impersonation ------------------------------------------------------
#: The IAM Credentials API (``options.iam_endpoint`` points elsewhere, as the tests do).
IAM_ENDPOINT = "https://iamcredentials.googleapis.com"
_CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
_STORAGE_SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"


def impersonated(store: Store) -> str | None:
    """The service account the store impersonates, if it does."""
    return store.credentials.impersonate_service_account


def iam_endpoint(store: Store) -> str:
    return str(store.options.get("iam_endpoint") or IAM_ENDPOINT).rstrip("/")


def source_credentials(store: Store) -> Any:
    """The identity that impersonates: the store's own key (or key file), else ADC."""
    from google.oauth2 import service_account

    info = service_account_info(store)
    if info:
        return service_account.Credentials.from_service_account_info(info, scopes=[_CLOUD_PLATFORM])
    import google.auth
    import google.auth.exceptions

    try:
        found, _ = google.auth.default(scopes=[_CLOUD_PLATFORM])
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise StoreAccessError(
            f"no source identity to impersonate {impersonated(store)} with: {exc}",
            hint="set GOOGLE_APPLICATION_CREDENTIALS, run on Google Cloud, or give the store a key",
        ) from None
    return found


def _service_account_url(store: Store, verb: str) -> str:
    from urllib.parse import quote

    email = quote(str(impersonated(store)), safe="@.")
    return f"{iam_endpoint(store)}/v1/projects/-/serviceAccounts/{email}:{verb}"


def _token_of(source: Any, lock: threading.Lock) -> str:
    import google.auth.transport.requests

    with lock:
        if not source.valid:
            try:
                source.refresh(google.auth.transport.requests.Request())
            except Exception as exc:
                raise StoreAccessError(
                    f"the source identity could not get a token: {type(exc).__name__}",
                    hint="check the source credentials (GOOGLE_APPLICATION_CREDENTIALS or the store's key)",
                ) from None
        return str(source.token)


def _iam_call(store: Store, verb: str, token: str, body: Mapping[str, Any]) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 (https, or a test's local endpoint)
        _service_account_url(store, verb),
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]["message"]
        raise StoreAccessError(
            f"IAM {verb} for {impersonated(store)} refused: HTTP {exc.code} {detail}"[:400],
            hint="grant the source identity roles/iam.serviceAccountTokenCreator on "
            f"{impersonated(store)}",
        ) from None
    except OSError as exc:
        raise StoreAccessError(
            f"cannot reach the IAM Credentials API: {exc}", hint="check the network"
        ) from None


def blob_signer(store: Store) -> Any:
    """``sign(bytes) -> signature bytes`` through IAM ``signBlob`` as the impersonated account."""
    import base64

    source = source_credentials(store)
    lock = threading.Lock()

    def sign(payload: bytes) -> bytes:
        token = _token_of(source, lock)
        answer = _iam_call(
            store, "signBlob", token, {"payload": base64.b64encode(payload).decode("ascii")}
        )
        try:
            return base64.b64decode(answer["signedBlob"])
        except (KeyError, ValueError):
            raise SigningError("the IAM signBlob answer carries no signedBlob") from None

    return sign


def impersonated_credentials(store: Store) -> Any:
    """google-auth credentials of the impersonated account (for gcsfs I/O), refreshed by
    ``generateAccessToken`` as they expire."""
    from google.auth import impersonated_credentials as ic

    return ic.Credentials(
        source_credentials=source_credentials(store),
        target_principal=str(impersonated(store)),
        target_scopes=[_STORAGE_SCOPE],
        lifetime=3600,
        iam_endpoint_override=_service_account_url(store, "generateAccessToken"),
    )


def signing_kind(store: Store) -> str | None:
    """``"hmac"``, ``"rsa"``, ``"iam"`` (impersonation), or None when the store cannot sign."""
    creds = store.credentials
    if impersonated(store):
        return "iam"
    if creds.access_key and creds.secret_key and not store.service_account:
        return "hmac"
    if service_account_info(store) or _adc_service_account():
        return "rsa"
    return None


def signer_for(store: Store) -> V4Signer:
    """The store's signer, built once per (store, key) and cached: the key is parsed once."""
    creds = store.credentials
    endpoint = signing_endpoint(store)
    cache_key = (
        store.bucket,
        endpoint,
        store.service_account,
        _digest(creds.private_key),
        creds.access_key,
        _digest(creds.secret_key),
        key_file(store),
        impersonated(store),
        iam_endpoint(store),
    )
    signer = _signers.get(cache_key)
    if signer is not None:
        return signer
    signer = _build_signer(store, endpoint)
    with _lock:
        if len(_signers) >= _MAX_SIGNERS:
            _signers.pop(next(iter(_signers)))
        _signers[cache_key] = signer
    return signer


def _build_signer(store: Store, endpoint: str) -> V4Signer:
    creds = store.credentials
    if impersonated(store):
        return IamSigner(
            bucket=store.bucket,
            service_account=str(impersonated(store)),
            sign_blob=blob_signer(store),
            endpoint=endpoint,
        )
    if creds.access_key and creds.secret_key and not store.service_account:
        return HmacSigner(
            bucket=store.bucket,
            access_id=creds.access_key,
            secret=creds.secret_key,
            endpoint=endpoint,
        )
    info = service_account_info(store) or _adc_service_account()
    if info and info.get("private_key") and info.get("client_email"):
        return RsaSigner(
            bucket=store.bucket,
            service_account=info["client_email"],
            private_key=info["private_key"],
            endpoint=endpoint,
        )
    raise UnsupportedError(
        f"store {store.display} has no key to sign URLs with",
        hint=(
            "give a service account e-mail and private key (gs://EMAIL:KEY@bucket), "
            "an HMAC key, or a key_file; application default credentials without a "
            "key file cannot sign offline"
        ),
    )


def anonymous(store: Store) -> bool:
    """Whether I/O goes without credentials: asked for, or a plain-HTTP endpoint (an emulator)."""
    flag = store.options.get("anonymous")
    if flag is not None:
        return str(flag).lower() in ("1", "true", "yes", "on")
    return bool(store.endpoint) and not store.tls


def gcsfs_token(store: Store) -> Any:
    """The ``token`` argument of gcsfs for the store: anon, a key dict or file, or ADC."""
    if anonymous(store):
        return ANONYMOUS
    if impersonated(store):
        return impersonated_credentials(store)
    if store.service_account and store.credentials.private_key:
        return service_account_info(store)
    path = key_file(store)
    if path:
        return path
    # HMAC keys only sign: the JSON API does not take them, so I/O falls back to ADC.
    return ADC
