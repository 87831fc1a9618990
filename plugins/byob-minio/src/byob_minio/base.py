"""`S3CompatiblePlugin`: a whole byob plugin for S3-compatible providers in one object.

An S3-compatible provider's plugin module can be a few lines: declare the spec, build one
`S3CompatibleProvider` with the switches for what the service lacks, and expose a plugin
object as the entry point::

    SPEC = ProviderSpec(name="b2", schemes=("b2",), family="s3-compatible", versions=True,
                        multipart=True)
    plugin = S3CompatiblePlugin(S3CompatibleProvider(SPEC, server="Backblaze B2", kms=False,
                                                     policies=False))

    # pyproject.toml: [project.entry-points.byob] b2 = "byob_b2:plugin"

Subclass it and override `complete` to fill a store in once (an endpoint from a region
or an account id): every verb then gets the completed store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from byob_core import hookimpl

if TYPE_CHECKING:
    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import Multipart, ProviderSpec, ProvisionContext, ValidateContext
    from byob_core.signing import KeySigner, SignedRequest, SignRequest
    from byob_core.stores import Store
    from fsspec import AbstractFileSystem

    from byob_minio.provider import S3CompatibleProvider


class S3CompatiblePlugin:
    """Every byob hook of one or more `S3CompatibleProvider`s (routed by provider name)."""

    def __init__(self, *providers: S3CompatibleProvider) -> None:
        self.providers = {p.spec.name: p for p in providers}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.providers)})"

    def complete(self, store: Store) -> Store:
        """The store completed once after it is parsed or loaded; override to fill it in."""
        return store

    def _of(self, store: Store) -> S3CompatibleProvider:
        return self.providers[store.provider]

    @hookimpl
    def byob_providers(self) -> Sequence[ProviderSpec]:
        return [p.spec for p in self.providers.values()]

    @hookimpl
    def byob_complete_store(self, store: Store) -> Store:
        return self.complete(store)

    @hookimpl
    def byob_filesystem(self, store: Store) -> AbstractFileSystem:
        return self._of(store).filesystem(store)

    @hookimpl
    def byob_provision(self, store: Store, context: ProvisionContext) -> Plan:
        return self._of(store).provision(store, context)

    @hookimpl
    def byob_validate(self, store: Store, context: ValidateContext) -> Iterable[Finding]:
        return self._of(store).validate(store, context)

    @hookimpl
    def byob_sign(self, store: Store, requests: Sequence[SignRequest]) -> Sequence[SignedRequest]:
        return self._of(store).sign(store, requests)

    @hookimpl
    def byob_signer(self, store: Store, method: str, expires: dt.timedelta) -> KeySigner:
        return self._of(store).signer(store, method, expires)

    @hookimpl
    def byob_multipart(self, store: Store) -> Multipart:
        return self._of(store).multipart(store)

    @hookimpl
    def byob_list(self, store: Store, request: ListRequest) -> Iterable[Entry]:
        return self._of(store).list(store, request)

    @hookimpl
    def byob_garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
        return self._of(store).garbage_collect(store, batch)
