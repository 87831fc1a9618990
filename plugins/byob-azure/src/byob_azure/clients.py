"""The Azure SDK side of a store: endpoint, credential, clients and the signer, built once.

Everything here imports azure-storage-blob, azure-identity or adlfs inside the functions
that need them, so that importing the plugin stays cheap. SDK errors are translated to
byob errors at this boundary; their text never carries the account key.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from byob_core import retries, secrets
from byob_core.errors import ByobError, ConfigError, StoreAccessError, UnsupportedError
from byob_core.stores import Store

from byob_azure.sas import SIGNED_VERSION, BlobSigner, DelegationKey, decode_key

if TYPE_CHECKING:
    from adlfs import AzureBlobFileSystem
    from azure.storage.blob import BlobServiceClient, ContainerClient

#: A user delegation key lives at most 7 days (Get User Delegation Key refuses more).
DELEGATION_KEY_LIFETIME = dt.timedelta(days=7)
#: Start the delegation key a little in the past: clocks of client and service differ.
_CLOCK_SKEW = dt.timedelta(minutes=5)


_lock = threading.Lock()
_services: dict[tuple[Any, ...], Any] = {}
_signers: dict[tuple[Any, ...], BlobSigner] = {}


#: Options that shape a client or a signer (the rest are read at each call).
_SHAPING_OPTIONS = (
    "retries",
    "timeout",
    "backoff",
    "retry_total",
    "connection_timeout",
    "sas_version",
)


def _cache_key(store: Store) -> tuple[Any, ...]:
    # Neither credentials nor options take part in Store equality; the cache must tell
    # stores with other keys or client settings apart.
    shaping = tuple(str(store.options.get(name)) for name in _SHAPING_OPTIONS)
    creds = store.credentials
    return (
        store,
        creds.account_key,
        creds.sas_token,
        creds.client_secret,
        creds.federated_token_file,
        store.tenant_id,
        store.client_id,
        str(store.options.get("authority_host")),
        shaping,
        policy(store),  # --timeout from the command line included
    )


def policy(store: Store) -> retries.RetryPolicy:
    """The store's retry policy (``retries``, ``timeout``; the SDK's own names also work)."""
    return retries.policy_of(store)


def retry_policy(policy: retries.RetryPolicy, *, aio: bool = False) -> Any:
    """The storage SDK's retry policy, following `policy`: its count, full-jitter backoff.

    The storage policy retries 408, 5xx (503 is ServerBusy) but 501 and 505, connection
    errors and read timeouts; a 429 (which some gateways send) is retried here as well.
    Its default waits 15 s and more between attempts.
    """
    if aio:
        from azure.storage.blob.aio import ExponentialRetry
    else:
        from azure.storage.blob import ExponentialRetry  # type: ignore[assignment]

    def backoff(settings: dict[str, Any]) -> float:
        return policy.delay(max(1, int(settings.get("count", 1))))

    if aio:
        import asyncio

        class AsyncFullJitterRetry(ExponentialRetry):  # type: ignore[misc, valid-type]
            def get_backoff_time(self, settings: dict[str, Any]) -> float:
                return backoff(settings)

            async def send(self, request: Any) -> Any:
                done = 0
                while True:
                    response = await super().send(request)
                    if response.http_response.status_code != 429 or done >= policy.retries:
                        return response
                    done += 1
                    retries.RETRIED.add("azure 429")
                    await asyncio.sleep(policy.delay(done))

        chosen: Any = AsyncFullJitterRetry
    else:
        import time

        class FullJitterRetry(ExponentialRetry):  # type: ignore[misc, valid-type]
            def get_backoff_time(self, settings: dict[str, Any]) -> float:
                return backoff(settings)

            def send(self, request: Any) -> Any:
                done = 0
                while True:
                    response = super().send(request)
                    if response.http_response.status_code != 429 or done >= policy.retries:
                        return response
                    done += 1
                    retries.RETRIED.add("azure 429")
                    time.sleep(policy.delay(done))

        chosen = FullJitterRetry
    return chosen(
        retry_total=policy.retries,
        initial_backoff=policy.backoff,
        random_jitter_range=0,
    )


def client_kwargs(store: Store, *, aio: bool = False) -> dict[str, Any]:
    """Retry policy and timeouts for a storage client (sync or asyncio) of `store`."""
    chosen = policy(store)
    return {
        "retry_policy": retry_policy(chosen, aio=aio),
        "connection_timeout": chosen.timeout,
        "read_timeout": chosen.timeout,
    }


def account(store: Store) -> str:
    """The storage account name, or a configuration error saying it is missing."""
    if not store.account:
        raise ConfigError([("account", "an Azure store needs the storage account name")])
    return store.account


def base_url(store: Store) -> str:
    """The blob endpoint with the account: the endpoint override, or the public cloud's."""
    return store.endpoint_url or f"https://{account(store)}.blob.core.windows.net"


def uses_entra(store: Store) -> bool:
    """True when the store authenticates with Entra ID rather than an account key or SAS."""
    return not store.credentials.account_key and not store.credentials.sas_token


def auth_mode(store: Store) -> str:
    if store.credentials.account_key:
        return "account key"
    if store.credentials.sas_token:
        return "SAS token"
    if store.credentials.client_secret:
        return f"Entra ID application {store.client_id} (client secret)"
    if store.credentials.federated_token_file:
        return f"workload identity {store.client_id} (federated token)"
    if store.client_id:
        return "managed identity " + store.client_id
    return "ambient Entra ID credential"


def connection_string(store: Store) -> str:
    """An account-key connection string naming the blob endpoint (Azurite needs it)."""
    key = store.credentials.account_key
    if not key:
        raise UnsupportedError("a connection string needs the account key")
    protocol = "https" if store.tls else "http"
    return (
        f"DefaultEndpointsProtocol={protocol};AccountName={account(store)};"
        f"AccountKey={key};BlobEndpoint={base_url(store)};"
    )


def entra_credential(store: Store, *, aio: bool = False) -> Any:
    """The Entra ID credential of a store.

    In order: an application secret (``client_secret``); workload identity federation,
    whose client assertion is the OIDC token in ``federated_token_file``, read again for
    every token request (Kubernetes rotates it); else the managed identity named by
    ``client_id``, else the ambient one. The first two need ``tenant_id`` and ``client_id``.
    ``options.authority_host`` points at another Entra ID authority (a sovereign cloud).
    `aio` gives the asyncio flavour, which adlfs (built on the aio SDK) needs.
    """
    creds = store.credentials
    if creds.client_secret or creds.federated_token_file:
        return _application_credential(store, aio=aio)
    if aio:
        from azure.identity.aio import DefaultAzureCredential
    else:
        from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {}
    if store.client_id:
        kwargs["managed_identity_client_id"] = store.client_id
        kwargs["workload_identity_client_id"] = store.client_id
    if store.tenant_id:
        kwargs["workload_identity_tenant_id"] = store.tenant_id
        kwargs["additionally_allowed_tenants"] = [store.tenant_id]
    return DefaultAzureCredential(**kwargs)


def _application_credential(store: Store, *, aio: bool) -> Any:
    creds = store.credentials
    missing = [name for name in ("tenant_id", "client_id") if not getattr(store, name)]
    if missing:
        what = "client_secret" if creds.client_secret else "federated_token_file"
        raise ConfigError(
            [
                (name, f"missing; {what} needs the Entra ID tenant_id and client_id")
                for name in missing
            ]
        )
    options: dict[str, Any] = {}
    authority = store.options.get("authority_host")
    if authority:
        options["authority"] = str(authority)
        options["disable_instance_discovery"] = True
    if aio:
        from azure.identity.aio import ClientAssertionCredential, ClientSecretCredential
    else:
        from azure.identity import ClientAssertionCredential, ClientSecretCredential
    if creds.client_secret:
        return ClientSecretCredential(
            store.tenant_id, store.client_id, creds.client_secret, **options
        )
    path = str(creds.federated_token_file)

    def assertion() -> str:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise StoreAccessError(
                f"cannot read the federated token file {path}: {exc.strerror}",
                hint="check federated_token_file (the projected service account token)",
            ) from None

    return ClientAssertionCredential(store.tenant_id, store.client_id, assertion, **options)


def service(store: Store) -> BlobServiceClient:
    """The store's BlobServiceClient, built once per store and credentials."""
    key = _cache_key(store)
    client = _services.get(key)
    if client is not None:
        return client  # type: ignore[no-any-return]
    from azure.storage.blob import BlobServiceClient

    creds = store.credentials
    credential: Any
    if creds.account_key:
        credential = {"account_name": account(store), "account_key": creds.account_key}
    elif creds.sas_token:
        credential = creds.sas_token
    else:
        credential = entra_credential(store)
    # The SDK's default retries 10 times, 15 s apart and more: minutes before a dead
    # endpoint is reported. The store's policy replaces it (docs/reliability.md).
    client = BlobServiceClient(
        account_url=base_url(store), credential=credential, **client_kwargs(store)
    )
    with _lock:
        _services[key] = client
    return client


def option_number(store: Store, name: str, default: float, *, whole: bool = False) -> float:
    """A numeric store option (``[<store>.options]``), checked: a bad one is a `ConfigError`
    naming the option (exit 2), not a ValueError deep inside the SDK."""
    value = store.options.get(name, default)
    kind = "a whole number" if whole else "a number"
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        number = int(value) if whole else float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError([(f"options.{name}", f"must be {kind} >= 0, not {value!r}")]) from None
    if not 0 <= number <= 10**6:
        raise ConfigError([(f"options.{name}", f"must be {kind} from 0 to 1000000, not {value!r}")])
    return number


def container(store: Store) -> ContainerClient:
    """The ContainerClient of the store's container."""
    return service(store).get_container_client(store.container or store.bucket)


def filesystem(store: Store) -> AzureBlobFileSystem:
    """An adlfs filesystem for the store; paths are ``<container>/<key>``.

    Its service client is byob's, not adlfs's: the store's endpoint as given (adlfs
    would force ``https://``, so a SAS token on an ``http://`` endpoint never worked),
    and the store's retries and timeouts.
    """
    creds = store.credentials
    chosen = policy(store)
    kwargs: dict[str, Any] = {
        "account_name": account(store),
        "byob_account_url": base_url(store),
        "byob_policy": chosen,
        "connection_timeout": chosen.timeout,
        "read_timeout": chosen.timeout,
    }
    if store.endpoint:
        kwargs["account_host"] = base_url(store).split("://", 1)[1]
    if creds.account_key:
        kwargs["account_key"] = creds.account_key
    elif creds.sas_token:
        kwargs["sas_token"] = creds.sas_token
    else:
        kwargs["credential"] = entra_credential(store, aio=True)
    return _filesystem_class()(**kwargs)


_FS_CLASS: list[Any] = []


def _filesystem_class() -> Any:
    if _FS_CLASS:
        return _FS_CLASS[0]
    from adlfs import AzureBlobFileSystem

    class ByobBlobFileSystem(AzureBlobFileSystem):  # type: ignore[misc, valid-type]
        """adlfs with a service client byob builds (endpoint as given, byob's retries)."""

        def __init__(
            self,
            *args: Any,
            byob_account_url: str = "",
            byob_policy: retries.RetryPolicy | None = None,
            **kwargs: Any,
        ) -> None:
            self.byob_account_url = byob_account_url
            self.byob_policy = byob_policy or retries.RetryPolicy()
            super().__init__(*args, **kwargs)

        def do_connect(self) -> None:
            from azure.storage.blob.aio import BlobServiceClient

            credential: Any
            if self.credential is not None:
                credential = self.credential
            elif self.account_key:
                credential = {"account_name": self.account_name, "account_key": self.account_key}
            else:
                credential = self.sas_token
            self.account_url = self.byob_account_url
            self.service_client = BlobServiceClient(
                account_url=self.byob_account_url,
                credential=credential,
                retry_policy=retry_policy(self.byob_policy, aio=True),
                connection_timeout=self.byob_policy.timeout,
                read_timeout=self.byob_policy.timeout,
            )

    _FS_CLASS.append(ByobBlobFileSystem)
    return ByobBlobFileSystem


# -- signing ---------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def now() -> dt.datetime:
    """The current UTC time to the second."""
    return _now()


def delegation_key(store: Store, *, now: dt.datetime | None = None) -> DelegationKey:
    """Fetch a user delegation key (valid 7 days) with the store's Entra ID identity."""
    start = (now or _now()) - _CLOCK_SKEW
    expiry = start + DELEGATION_KEY_LIFETIME
    try:
        udk = service(store).get_user_delegation_key(key_start_time=start, key_expiry_time=expiry)
    except Exception as exc:
        raise translate(exc, "get a user delegation key") from exc
    secrets.register([udk.value])  # redacted from logs like any credential
    return DelegationKey(
        signed_oid=udk.signed_oid,
        signed_tid=udk.signed_tid,
        signed_start=udk.signed_start,
        signed_expiry=udk.signed_expiry,
        signed_service=udk.signed_service,
        signed_version=udk.signed_version,
        value=udk.value,
        signed_delegated_user_tid=getattr(udk, "signed_delegated_user_tid", None),
    )


def signer(store: Store, *, until: dt.datetime | None = None) -> BlobSigner:
    """The store's signer, built once; a delegation key is renewed when `until` outlives it."""
    key = _cache_key(store)
    current = _signers.get(key)
    if current is not None and (
        current.delegation is None or until is None or until <= current.delegation.expiry
    ):
        return current
    creds = store.credentials
    common: dict[str, Any] = {
        "account": account(store),
        "container": store.container or store.bucket,
        "base_url": base_url(store),
        "version": str(store.options.get("sas_version", SIGNED_VERSION)),
        "protocol": "https" if store.tls else None,
    }
    if creds.account_key:
        made = BlobSigner(key=decode_key(creds.account_key), **common)
    elif creds.sas_token:
        raise UnsupportedError(
            "a store reached with a SAS token cannot sign new URLs",
            hint="give the store the account key, or an Entra ID identity with "
            "the Storage Blob Data Owner role (user delegation SAS)",
        )
    else:
        udk = delegation_key(store)
        made = BlobSigner(key=decode_key(udk.value), delegation=udk, **common)
    with _lock:
        _signers[key] = made
    return made


def forget(store: Store) -> None:
    """Drop the cached clients and signer of a store (tests; rotated keys)."""
    key = _cache_key(store)
    with _lock:
        _services.pop(key, None)
        _signers.pop(key, None)


# -- errors ----------------------------------------------------------------------------


def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )


def error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "") or "")


def translate(exc: BaseException, what: str) -> ByobError:
    """A byob error for an SDK exception, naming the operation and the HTTP status only."""
    if isinstance(exc, ByobError):
        return exc
    status = status_of(exc)
    code = error_code(exc)
    detail = f"HTTP {status}" if status else type(exc).__name__
    if code:
        detail += f" {code}"
    if status in (401, 403) or type(exc).__name__ == "ClientAuthenticationError":
        return StoreAccessError(
            f"Azure refused to {what} ({detail})",
            hint="check the account key, or the identity's role assignments",
        )
    return StoreAccessError(f"could not {what} ({detail})")
