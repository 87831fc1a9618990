"""The ``minio`` and ``coreweave`` providers of byob: each hook forwards to the store's provider.

This is the module the ``byob`` entry point loads, so it imports no cloud SDK (byob-aws's
S3 machinery imports botocore and s3fs inside the functions that use them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from byob_core import hookimpl
from byob_core.provider import ProviderSpec

from byob_minio.provider import COREWEAVE_ENDPOINT, S3CompatibleProvider

if TYPE_CHECKING:
    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import Multipart, ProvisionContext, ValidateContext
    from byob_core.signing import KeySigner, SignedRequest, SignRequest
    from byob_core.stores import Store
    from fsspec import AbstractFileSystem


def _spec(name: str, scheme: str, description: str) -> ProviderSpec:
    return ProviderSpec(
        name=name,
        schemes=(scheme,),
        family="s3-compatible",
        description=description,
        max_expiry=dt.timedelta(days=7),  # SigV4's limit
        gc_batch_size=1000,  # DeleteObjects' limit
        versions=True,
        multipart=True,
        user_param="X-User",
    )


MINIO = S3CompatibleProvider(
    _spec("minio", "s3", "S3-compatible stores (MinIO, Ceph RGW, custom endpoints), path-style"),
    server="MinIO",
)
COREWEAVE = S3CompatibleProvider(
    _spec("coreweave", "cw", "CoreWeave AI Object Storage (cwobject.com), over TLS"),
    server="CoreWeave",
    default_endpoint=COREWEAVE_ENDPOINT,
    default_tls=True,
)
PROVIDERS = {p.spec.name: p for p in (MINIO, COREWEAVE)}


def _provider(store: Store) -> S3CompatibleProvider:
    # Routed hooks only reach this plugin for its own providers.
    return PROVIDERS[store.provider]


@hookimpl
def byob_providers() -> Sequence[ProviderSpec]:
    return [p.spec for p in PROVIDERS.values()]


@hookimpl
def byob_filesystem(store: Store) -> AbstractFileSystem:
    return _provider(store).filesystem(store)


@hookimpl
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    return _provider(store).provision(store, context)


@hookimpl
def byob_validate(store: Store, context: ValidateContext) -> Iterable[Finding]:
    return _provider(store).validate(store, context)


@hookimpl
def byob_sign(store: Store, requests: Sequence[SignRequest]) -> Sequence[SignedRequest]:
    return _provider(store).sign(store, requests)


@hookimpl
def byob_signer(store: Store, method: str, expires: dt.timedelta) -> KeySigner:
    return _provider(store).signer(store, method, expires)


@hookimpl
def byob_multipart(store: Store) -> Multipart:
    return _provider(store).multipart(store)


@hookimpl
def byob_list(store: Store, request: ListRequest) -> Iterable[Entry]:
    return _provider(store).list(store, request)


@hookimpl
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    return _provider(store).garbage_collect(store, batch)


@hookimpl
def byob_demo_endpoint() -> Any:
    """A local moto server for ``python -m byob_core demo``, when moto is installed."""
    try:
        import moto.server  # noqa: F401 - only asking whether it is there
    except ImportError:
        return None
    from byob_minio.demo import local_s3

    return local_s3()
