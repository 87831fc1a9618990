"""The ``aws`` provider of byob: each hook forwards to one `S3Provider`.

This is the module the ``byob`` entry point loads, so it imports no cloud SDK; the
machinery lives in `byob_aws.s3`, `byob_aws.provision` and `byob_aws.validate`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from byob_core import hookimpl
from byob_core.provider import ProviderSpec

from byob_aws.provider import S3Provider

if TYPE_CHECKING:
    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import Multipart, ProvisionContext, ValidateContext
    from byob_core.signing import KeySigner, SignedRequest, SignRequest
    from byob_core.stores import Store
    from fsspec import AbstractFileSystem

SPEC = ProviderSpec(
    name="aws",
    schemes=("s3",),
    family="aws",
    description="Amazon S3, with KMS encryption and SigV4 pre-signed URLs",
    max_expiry=dt.timedelta(days=7),
    gc_batch_size=1000,
    versions=True,
    multipart=True,
    user_param="X-User",
)
PROVIDER = S3Provider(SPEC)


@hookimpl
def byob_providers() -> Sequence[ProviderSpec]:
    return [SPEC]


@hookimpl
def byob_filesystem(store: Store) -> AbstractFileSystem:
    return PROVIDER.filesystem(store)


@hookimpl
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    return PROVIDER.provision(store, context)


@hookimpl
def byob_validate(store: Store, context: ValidateContext) -> Iterable[Finding]:
    return PROVIDER.validate(store, context)


@hookimpl
def byob_sign(store: Store, requests: Sequence[SignRequest]) -> Sequence[SignedRequest]:
    return PROVIDER.sign(store, requests)


@hookimpl
def byob_signer(store: Store, method: str, expires: dt.timedelta) -> KeySigner:
    return PROVIDER.signer(store, method, expires)


@hookimpl
def byob_multipart(store: Store) -> Multipart:
    return PROVIDER.multipart(store)


@hookimpl
def byob_list(store: Store, request: ListRequest) -> Iterable[Entry]:
    return PROVIDER.list(store, request)


@hookimpl
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    return PROVIDER.garbage_collect(store, batch)
