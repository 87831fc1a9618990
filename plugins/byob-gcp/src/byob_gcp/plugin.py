"""The hook implementations of the ``gcp`` provider (entry point ``gcp = "byob_gcp.plugin"``).

Each hook is a thin door to the module that does the work; this module imports no
Google SDK and no gcsfs, so loading the plugin costs next to nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from byob_core import hookimpl
from byob_core.provider import ProviderSpec

if TYPE_CHECKING:
    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import Multipart, ProvisionContext, ValidateContext
    from byob_core.signing import KeySigner, SignedRequest, SignRequest
    from byob_core.stores import Store
    from fsspec import AbstractFileSystem

NAME = "gcp"
#: The JSON API's batch endpoint takes at most 100 calls per request
#: (https://cloud.google.com/storage/docs/batch), so a GC batch is 100 deletes.
GC_BATCH_SIZE = 100

SPEC = ProviderSpec(
    name=NAME,
    schemes=("gs",),
    family="gcp",
    description="Google Cloud Storage (V4 signing with RSA or HMAC keys, XML multipart)",
    can_sign=True,
    max_expiry=dt.timedelta(days=7),
    gc_batch_size=GC_BATCH_SIZE,
    versions=True,
    multipart=True,
    user_param="X-User",
    # The XML multipart API's limits are S3's: parts of 5 MiB to 5 GiB, at most 10,000.
)


@hookimpl
def byob_providers() -> Sequence[ProviderSpec]:
    return [SPEC]


@hookimpl
def byob_filesystem(store: Store) -> AbstractFileSystem:
    from byob_gcp.filesystem import make_filesystem

    return make_filesystem(store)


@hookimpl
def byob_sign(store: Store, requests: Sequence[SignRequest]) -> Sequence[SignedRequest]:
    from byob_gcp.credentials import signer_for

    return signer_for(store).sign_many(requests, user_param=SPEC.user_param)


@hookimpl
def byob_signer(store: Store, method: str, expires: dt.timedelta) -> KeySigner:
    from byob_gcp.credentials import signer_for

    return signer_for(store).prepare(method, expires, user_param=SPEC.user_param)


@hookimpl
def byob_multipart(store: Store) -> Multipart:
    from byob_gcp.multipart import XmlMultipart

    return XmlMultipart(store, user_param=SPEC.user_param)


@hookimpl
def byob_list(store: Store, request: ListRequest) -> Iterable[Entry]:
    from byob_gcp.collect import list_entries

    return list_entries(store, request)


@hookimpl
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    from byob_gcp.collect import delete_batch

    return delete_batch(store, batch)


@hookimpl
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    from byob_gcp.provision import provision

    return provision(store, context)


@hookimpl
def byob_validate(store: Store, context: ValidateContext) -> Iterable[Finding]:
    if store.provider != NAME:
        return []
    from byob_gcp.validate import validate

    return validate(store, context)
