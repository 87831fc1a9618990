"""Validation of an Azure store (docs/concepts.md#validation): one finding per check, each really exercised.

Checks: ``azure.credentials``, ``azure.container``, ``azure.cors``, ``azure.soft_delete``,
``azure.versioning``, ``azure.container_soft_delete``, ``azure.presigned`` (a SAS PUT
then GET over plain HTTP) and ``azure.preflight`` (a CORS OPTIONS with ``Origin``). The
core adds the probe object and the marker around these.

Versioning and container soft delete are management-plane settings that data-plane
credentials cannot read. Versioning still shows itself on a write: Put Blob answers
with ``x-ms-version-id`` when it is on, so the SAS PUT check tells us (skipped when
read-only). Container soft delete cannot be seen from the data plane at all: skipped
with the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator
from typing import Any

from byob_core import retries
from byob_core.findings import Finding
from byob_core.keys import RESERVED
from byob_core.provider import ValidateContext
from byob_core.signing import SignRequest
from byob_core.stores import Store

from byob_azure import clients, mgmt, provision

PREFLIGHT_ORIGIN = "https://byob-validate.example"


def _http(  # type: ignore[no-untyped-def]
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    store: Store | None = None,
):
    """One plain HTTP request (no SDK, no credentials): status, headers, body; retried."""
    policy = clients.policy(store) if store is not None else retries.RetryPolicy()
    return retries.send(method, url, body, headers, policy=policy, what=f"validate {method}")


def run(store: Store, context: ValidateContext) -> list[Finding]:
    return list(_checks(store, context))


def _checks(store: Store, context: ValidateContext) -> Iterator[Finding]:
    mode = clients.auth_mode(store)
    service = clients.service(store)
    props: dict[str, Any] | None = None
    try:
        props = service.get_service_properties()
    except Exception as exc:
        error = clients.translate(exc, "read the blob service properties")
        status = clients.status_of(exc)
        if status in (401, 403) or "Authentication" in type(exc).__name__:
            yield Finding.failed(
                "azure.credentials",
                f"{mode} was refused by account {store.account}: {error}",
                hint="check the account key, or give the identity the Storage Account "
                "Contributor and Storage Blob Data Owner roles",
                auth=mode,
            )
            return
        if status is None:
            yield Finding.failed(
                "azure.credentials",
                f"account {store.account} is unreachable at {clients.base_url(store)}: {error}",
                hint="check the account name and the endpoint",
                endpoint=clients.base_url(store),
            )
            return
        # Some roles may use blobs but not read service properties: go on without them.
        yield Finding.warned(
            "azure.credentials",
            f"{mode} works, but cannot read the blob service properties: {error}",
            hint="grant Storage Account Contributor to check CORS and soft delete",
            auth=mode,
        )
    else:
        yield Finding.passed(
            "azure.credentials", f"{mode} accepted by account {store.account}", auth=mode
        )

    container_ok = True
    name = store.container or store.bucket
    try:
        exists = clients.container(store).exists()
    except Exception as exc:
        container_ok = False
        yield Finding.failed(
            "azure.container",
            f"cannot read container {name}: {clients.translate(exc, 'read the container')}",
            hint="grant Storage Blob Data Owner on the account or container",
        )
    else:
        if exists:
            yield Finding.passed("azure.container", f"container {name} exists")
        else:
            container_ok = False
            yield Finding.failed(
                "azure.container",
                f"container {name} does not exist in account {store.account}",
                hint="run `python -m byob_core provision` to create it",
            )

    yield from _service_findings(store, props)
    presigned_version = None
    if context.read_only:
        yield Finding.skipped("azure.presigned", "read-only validation: no SAS PUT")
    elif not container_ok:
        yield Finding.skipped("azure.presigned", "the container is missing")
    else:
        finding, presigned_version = _presigned(store)
        yield finding
    yield from _management_findings(store, context, container_ok, presigned_version)
    yield _preflight(store)


_NO_CONTEXT = provision.ProvisionContext()


def _service_findings(store: Store, props: dict[str, Any] | None) -> Iterator[Finding]:
    if props is None:
        yield Finding.skipped("azure.cors", "blob service properties are not readable")
        yield Finding.skipped("azure.soft_delete", "blob service properties are not readable")
        return
    rules = [provision.rule_document(r) for r in props.get("cors") or []]
    if provision.cors_satisfied(rules):
        yield Finding.passed(
            "azure.cors", "a CORS rule allows GET/HEAD/PUT from any origin", rules=rules
        )
    else:
        yield Finding.failed(
            "azure.cors",
            "no CORS rule lets browsers GET, HEAD and PUT with any header and read the ETag",
            hint="run `python -m byob_core provision`, or: "
            + provision._az_cors(store, provision.desired_cors(store.options)),
            rules=rules,
        )
    retention = props.get("delete_retention_policy")
    if retention is not None and retention.enabled:
        yield Finding.passed(
            "azure.soft_delete",
            f"blob soft delete keeps deleted blobs {retention.days} days",
            days=retention.days,
        )
    else:
        yield Finding.failed(
            "azure.soft_delete",
            "blob soft delete is off: a deleted blob cannot be recovered",
            hint="run `python -m byob_core provision`, or: az storage account "
            f"blob-service-properties update --account-name {store.account} "
            "--enable-delete-retention true --delete-retention-days 7",
        )


def _management_findings(
    store: Store, context: ValidateContext, container_ok: bool, version: str | bool | None
) -> Iterator[Finding]:
    settings = dict(store.options)
    steps = {c.name: c.steps[0] for c in provision.manual_changes(store, _NO_CONTEXT, settings)}
    reason = mgmt.unavailable_reason(settings)
    state = None
    if reason is None:
        try:
            state = mgmt.read_state(store, settings)
        except Exception as exc:
            reason = f"the management plane refused: {clients.translate(exc, 'read')}"
    if state is None:
        yield _versioning(context, container_ok, version)
        yield Finding.skipped(
            "azure.container_soft_delete",
            "container soft delete is a management-plane setting that data-plane "
            f"credentials cannot read ({reason})",
            manual_step=steps["container-soft-delete"],
        )
        return
    if state.versioning:
        yield Finding.passed("azure.versioning", "blob versioning is on (management plane)")
    else:
        yield Finding.warned(
            "azure.versioning",
            "blob versioning is off: overwritten blobs cannot be recovered",
            hint=steps["versioning"],
        )
    days = state.container_soft_delete_days
    if days:
        yield Finding.passed(
            "azure.container_soft_delete", f"container soft delete keeps containers {days} days"
        )
    else:
        yield Finding.warned(
            "azure.container_soft_delete",
            "container soft delete is off: a deleted container is gone at once",
            hint=steps["container-soft-delete"],
        )


def _versioning(
    context: ValidateContext, container_ok: bool, version: str | bool | None
) -> Finding:
    if context.read_only or not container_ok or version is False:
        return Finding.skipped(
            "azure.versioning",
            "blob versioning is a management-plane setting; it shows only on a write, "
            "and none was made",
        )
    if version:
        return Finding.passed("azure.versioning", "blob versioning is on (writes get a version id)")
    return Finding.warned(
        "azure.versioning",
        "blob versioning is off: the SAS PUT got no x-ms-version-id",
        hint="az storage account blob-service-properties update --account-name <account> "
        "--resource-group <resource group> --enable-versioning true",
    )


def _presigned(store: Store) -> tuple[Finding, str | bool | None]:
    """SAS PUT then GET over plain HTTP; returns the finding and the version id seen."""
    key = f"{store.prefix}{RESERVED}/validate/presigned-{secrets.token_hex(6)}"
    body = b"byob presigned check " + secrets.token_bytes(8).hex().encode()
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        put, get = clients.signer(store).sign(
            [
                SignRequest(
                    key=key,
                    method="PUT",
                    at=at,
                    expires=dt.timedelta(minutes=10),
                    content_type="application/octet-stream",
                ),
                SignRequest(key=key, method="GET", at=at, expires=dt.timedelta(minutes=10)),
            ]
        )
    except Exception as exc:
        return Finding.failed(
            "azure.presigned",
            f"cannot sign: {clients.translate(exc, 'sign')}",
            hint="check the account key or the identity's delegation rights",
        ), False
    version: str | None = None
    try:
        status, headers, _ = _http("PUT", put.url, body, dict(put.headers), store=store)
        if status != 201:
            return Finding.failed(
                "azure.presigned",
                f"a SAS PUT got HTTP {status}",
                hint="check the key, the clock, and network rules on the account",
                status=status,
            ), False
        version = {k.lower(): v for k, v in headers.items()}.get("x-ms-version-id")
        status, _, got = _http("GET", get.url, store=store)
        if status != 200 or got != body:
            return Finding.failed(
                "azure.presigned",
                f"a SAS GET of what was just written got HTTP {status}"
                + ("" if status != 200 else " with different bytes"),
                status=status,
            ), version
        return Finding.passed(
            "azure.presigned", "a SAS PUT then GET over plain HTTP worked"
        ), version
    finally:
        # The object may not exist (the PUT failed): nothing to clean up then. With blob
        # versioning the delete leaves the probe's version behind: delete it by its id.
        container = clients.container(store)
        with contextlib.suppress(Exception):
            container.delete_blob(key, delete_snapshots="include")
        if version:
            with contextlib.suppress(Exception):
                container.get_blob_client(key).delete_blob(version_id=version)


def _preflight(store: Store) -> Finding:
    url = f"{clients.base_url(store)}/{store.container or store.bucket}/{RESERVED}/preflight"
    status, headers, _ = _http(
        "OPTIONS",
        url,
        headers={
            "Origin": PREFLIGHT_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-ms-blob-type,content-type",
        },
        store=store,
    )
    lowered = {k.lower(): v for k, v in headers.items()}
    allowed = lowered.get("access-control-allow-origin")
    methods = lowered.get("access-control-allow-methods", "")
    if status == 200 and allowed in ("*", PREFLIGHT_ORIGIN) and "PUT" in methods.upper():
        return Finding.passed(
            "azure.preflight",
            f"a CORS preflight for PUT from {PREFLIGHT_ORIGIN} is allowed",
            allow_origin=allowed,
        )
    return Finding.failed(
        "azure.preflight",
        f"a CORS preflight for PUT from {PREFLIGHT_ORIGIN} got HTTP {status}"
        + (f" (allow-origin {allowed!r})" if allowed else " without CORS headers"),
        hint="add the byob CORS rule: run `python -m byob_core provision`",
        status=status,
    )
