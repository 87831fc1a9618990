"""The byob hooks of the ``azure`` provider; each hook hands over to the module that does it.

Loaded at discovery, so it imports no Azure SDK: the modules it calls import theirs
inside functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from byob_core import hookimpl
from byob_core.provider import ProviderSpec

from byob_azure.sas import MAX_EXPIRY

if TYPE_CHECKING:
    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import Multipart, ProvisionContext, ValidateContext
    from byob_core.signing import KeySigner, SignedRequest, SignRequest
    from byob_core.stores import Store
    from fsspec import AbstractFileSystem

    from byob_azure.sas import BlobSigner

NAME = "azure"

SPEC = ProviderSpec(
    name=NAME,
    schemes=("az",),
    family="azure",
    description="Azure Blob Storage (account key or Entra ID; service and user-delegation SAS)",
    can_sign=True,
    max_expiry=MAX_EXPIRY,
    # Blob Batch takes at most 256 sub-requests.
    gc_batch_size=256,
    versions=True,
    multipart=True,
    user_param="scid",
    # Azure allows 50,000 blocks a blob, but byob's part rule (at most 10,000 parts of at
    # least 100 MiB, docs/concepts.md#large-uploads) fits Azure too, so the defaults stay.
)


@hookimpl
def byob_providers() -> Sequence[ProviderSpec]:
    return [SPEC]


@hookimpl
def byob_filesystem(store: Store) -> AbstractFileSystem:
    from byob_azure import clients

    return clients.filesystem(store)


@hookimpl
def byob_sign(store: Store, requests: Sequence[SignRequest]) -> Sequence[SignedRequest]:
    from byob_azure import clients

    until = max((r.at + r.expires for r in requests if r.at and r.expires), default=None)
    return clients.signer(store, until=until).sign(requests)


@hookimpl
def byob_signer(store: Store, method: str, expires: dt.timedelta) -> KeySigner:
    from byob_azure import clients

    def renew(until: dt.datetime) -> BlobSigner:
        return clients.signer(store, until=until)

    return clients.signer(store, until=clients.now() + expires).prepare(
        method, expires, renew=renew
    )


@hookimpl
def byob_multipart(store: Store) -> Multipart:
    from byob_azure.multipart import AzureMultipart

    return AzureMultipart(store)


@hookimpl
def byob_list(store: Store, request: ListRequest) -> Iterable[Entry]:
    from byob_azure import collect

    return collect.list_entries(store, request)


@hookimpl
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    from byob_azure import collect

    return collect.delete(store, batch)


@hookimpl
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    from byob_azure import provision

    return provision.plan(store, context)


@hookimpl
def byob_validate(store: Store, context: ValidateContext) -> Iterable[Finding]:
    from byob_azure import validate

    return validate.run(store, context)
