"""The plugin contract of byob: hook specifications, and nothing else.

A plugin implements any subset of these with ``@byob_core.hookimpl`` and is registered
through the ``byob`` entry-point group. Routed hooks (everything but `byob_providers`
and `byob_validate`) are called only on the plugin that owns the store's provider, so
an implementation never needs to ask whether a store is its own. Every key a plugin
receives is a full object key: the core has already resolved the scope, applied the
store's sub-path and refused any key that would escape it.

Three hooks are about stores rather than verbs: `byob_parse_uri` and `byob_format_uri`
(connection strings; the core's own parsers for ``s3``, ``az``, ``gs``, ``cw`` and
``file`` are implementations of them too) and `byob_complete_store`.

Call hooks with keyword arguments only; a hook may gain arguments in later versions,
never lose them (an implementation may accept any subset of the arguments).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from byob_core.findings import Finding
    from byob_core.objects import DeleteBatch, DeleteResult, Entry, ListRequest
    from byob_core.plans import Plan
    from byob_core.provider import Multipart, ProviderSpec, ProvisionContext, ValidateContext
    from byob_core.signing import KeySigner, SignedRequest, SignRequest
    from byob_core.stores import Store

hookspec = pluggy.HookspecMarker("byob")


class DemoEndpoint(Protocol):
    """What `byob_demo_endpoint`'s context manager yields."""

    endpoint_url: str

    def store_config(self, bucket: str, *, subpath: str = "") -> dict[str, Any]: ...

    def connection_string(self, bucket: str, *, subpath: str = "") -> str: ...


@hookspec
def byob_providers() -> Sequence[ProviderSpec]:
    """Declare the providers this plugin owns.

    Called once when plugins load. Return one `ProviderSpec` per provider (its name,
    the connection-string schemes it parses, and its abilities and limits). Two plugins
    that claim the same provider name are a load error naming both. A plugin that owns
    no provider (an organisation-policy plugin, say) returns an empty list or does not
    implement this hook.
    """


@hookspec(firstresult=True)
def byob_parse_uri(uri: str, scheme: str, environ: Mapping[str, str]) -> Store | None:
    """Parse a connection string of a scheme this plugin declared; None if it is not yours.

    uri: the whole connection string (it may carry a secret: never put it in a message).
    scheme: its scheme, lower-cased (``r2`` for ``r2://...``).
    environ: the environment to read defaults from (``AWS_REGION``...).

    Called on the plugin whose `ProviderSpec.schemes` name the scheme. Without this hook
    a declared scheme parses with the generic form
    ``<scheme>://[<id>:<secret>@]<host>[:port]/<bucket>[/<sub-path>][?k=v&...]``: the host
    becomes ``endpoint``, the user info ``access_key`` and ``secret_key``, ``region``,
    ``tls``, ``forcePathStyle`` and ``subpath`` their fields, and any other parameter an
    entry of ``store.extras``. Raise `UriError` naming the faulty part for bad input.
    """


@hookspec(firstresult=True)
def byob_format_uri(store: Store, redact: bool) -> str | None:
    """Format `store` back as a connection string that `byob_parse_uri` reads (routed).

    redact: write every secret (and every secret extra) as ``***``.

    Without this hook the core writes the generic form.
    """


@hookspec(firstresult=True)
def byob_complete_store(store: Store) -> Store:
    """Complete a store once, after it is parsed or loaded from configuration (routed).

    store: the store as written (connection string or TOML table), with its `extras`.

    Return the store with what the provider derives filled in (an endpoint from an
    account id, a region, path style), typically with ``attrs.evolve``. Every other
    hook then receives the completed store, so no hook has to rewrite it. Raise
    `ConfigError` for a store the provider cannot use (a missing extra, say).
    """


@hookspec(firstresult=True)
def byob_filesystem(store: Store) -> AbstractFileSystem:
    """Return the fsspec filesystem that reaches `store` (routed to the owner).

    store: the store, with its credentials.

    Paths on the returned filesystem are ``store.fs_path(full_key)``
    (``<bucket>/<full key>``). The core caches the result per store, and uses it for
    the probe, the marker, listings and deletes without `byob_list` and
    `byob_garbage_collect`, and the ``byob://`` protocol. Import the cloud SDK or fsspec
    backend inside this function, not at module level.

    The core expects object-store behaviour: a write creates whatever parent folders
    the key needs, and ``ls(path, detail=False)`` returns full paths. A provider whose
    filesystem is hierarchical (FTP, SFTP) declares ``ProviderSpec(hierarchical=True)``
    and the core creates parent folders before each write and normalises ``ls``.
    """


@hookspec(firstresult=True)
def byob_provision(store: Store, context: ProvisionContext) -> Plan:
    """Compare `store` with what its provider needs (docs/providers/<provider>.md#what-it-provisions) and return the plan (routed).

    store: the store to provision.
    context: ``context.apply`` is False for ``plan`` (read only, change nothing) and True
        for ``provision`` (apply each change, and return the plan with ``applied`` set on
        what was done); ``context.principal`` is the platform principal to grant access,
        ``context.settings`` the provider options (lifecycle days, encryption, ...).

    A second run after a successful apply must return a plan with no CREATE or UPDATE
    change. Changes the credentials cannot make are returned as `Action.MANUAL` with the
    steps a person runs.
    """


@hookspec
def byob_validate(store: Store, context: ValidateContext) -> Iterable[Finding]:
    """Check `store` and return one `Finding` per check.

    store: the store to check.
    context: ``context.read_only`` forbids any write; ``context.fs`` is the store's
        filesystem; ``context.principal`` the platform principal.

    Called on the plugin that owns the store's provider, and on every plugin that owns no
    provider (policy plugins, which may add findings for any store). The core adds its
    own checks (configuration sanity, the probe object, the marker) around these.
    """


@hookspec(firstresult=True)
def byob_sign(store: Store, requests: Sequence[SignRequest]) -> Sequence[SignedRequest]:
    """Pre-sign `requests` for `store` and return one `SignedRequest` each, in order (routed).

    store: the store whose credentials sign.
    requests: each with a full key, a method, ``expires`` (already within the provider's
        ``max_expiry``), ``at`` (the signing time; honour it exactly, for reproducible
        output), an optional ``user`` that goes into the URL under the provider's
        ``user_param``, and optional content type, MD5, version and response overrides.

    This is the hot path: build a signer once per store and sign many keys per call.
    A provider that cannot sign raises `UnsupportedError`.
    """


@hookspec(firstresult=True)
def byob_signer(store: Store, method: str, expires: dt.timedelta) -> KeySigner | None:
    """Optional: a signer prepared for one store, method and lifetime (routed).

    store: the store whose credentials sign.
    method: ``GET``, ``PUT``, ``HEAD`` or ``DELETE``.
    expires: the lifetime, already within the provider's ``max_expiry``.

    Return an object whose ``sign_keys(keys, *, at=None, user=None)`` signs full keys
    and returns what `byob_sign` returns for the same plain requests, byte for byte (see
    `byob_core.signing.KeySigner`). The core caches it per (team, method, lifetime) and
    asks again now and then (`byob_core.api.RECHECK_SECONDS`), so temporary credentials
    may be refreshed here. Compute everything that does not depend on the key or the time
    when it is made. Return None (or do not implement this) and the core signs through
    `byob_sign`; requests with content type, MD5, version or response overrides always go
    through `byob_sign`.
    """


@hookspec(firstresult=True)
def byob_multipart(store: Store) -> Multipart:
    """Return the multipart steps (create, sign parts, complete, abort) for `store` (routed)."""


@hookspec(firstresult=True)
def byob_list(store: Store, request: ListRequest) -> Iterable[Entry]:
    """List objects, noncurrent versions or multipart uploads under a prefix (routed).

    Optional: without it the core lists objects by walking the provider's filesystem
    (sorted, folder by folder, so it streams), and finds no versions and no uploads.

    store: the store to list.
    request: ``request.kind`` says what to list, ``request.prefix`` the full key prefix,
        ``request.start_after`` where to resume (exclusive).

    Yield lazily, page by page, in ascending key order (versions and uploads: by key,
    then as the provider orders them), so that garbage collection streams.

    A versions listing carries each key's whole history: its current version (marked
    ``is_latest``), its noncurrent versions and its delete markers, each with its time,
    so that the collector can keep every key deleted or overwritten within the grace
    period (see docs/gc.md, "The undo window").
    """


@hookspec(firstresult=True)
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    """Delete one batch of objects or versions, or abort multipart uploads (routed).

    store: the store to delete from.
    batch: at most the provider's ``gc_batch_size`` entries of one ``batch.kind``, every
        key already checked by the core to lie inside the store's sub-path, none of them
        live or younger than the grace period.

    Delete exactly the named entries (never by prefix) in as few calls as the provider
    allows, and report per-key errors rather than raising for them.

    Optional: without it the core deletes the named objects through the provider's
    filesystem (``rm`` of the batch's paths), reporting each key that fails.
    """


@hookspec(firstresult=True)
def byob_demo_endpoint() -> AbstractContextManager[DemoEndpoint] | None:
    """Offer a throw-away local endpoint for ``python -m byob_core demo`` (not routed).

    Return a context manager that starts the endpoint on entry, yields a `DemoEndpoint`
    (``endpoint_url``, ``store_config(bucket, subpath=...)`` returning a store's
    configuration table, ``connection_string(bucket, subpath=...)``) and stops it on
    exit; return None when it cannot be offered (a dependency missing). The first
    plugin that offers one is used; with none, the demo runs on a local directory.
    """
