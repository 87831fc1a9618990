"""The checks (docs/concepts.md#validation) for a GCS store (`byob_validate`), one `Finding` each.

``gcp.credentials``, ``gcp.bucket``, ``gcp.location``, ``gcp.versioning``,
``gcp.soft_delete``, ``gcp.encryption``, ``gcp.cors``, ``gcp.iam``, ``gcp.presigned``
(a signed PUT then GET over plain HTTP) and ``gcp.preflight`` (OPTIONS with an Origin).
An HTTP 403 on the bucket's metadata is reported as the product does: the service
account lacks roles/storage.admin. The core runs the probe object and the marker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any

from byob_core import keys, retries
from byob_core.errors import ByobError
from byob_core.findings import Finding
from byob_core.provider import ValidateContext
from byob_core.signing import SignRequest, utcnow
from byob_core.stores import Store

from byob_gcp.credentials import anonymous, key_file, signer_for, signing_endpoint, signing_kind
from byob_gcp.filesystem import HttpStatusError, JsonApi, make_filesystem
from byob_gcp.provision import (
    ADMIN_ROLE,
    LACKS_ADMIN,
    Desired,
    cors_covers,
    has_binding,
    kms_key,
    soft_delete_seconds,
    versioning_on,
)

PREFLIGHT_ORIGIN = "https://byob-validate.invalid"
_PROVISION_HINT = "run `python -m byob_core provision` to apply it"
_ADMIN_HINT = f"grant {ADMIN_ROLE} on the bucket to the service account"
_METADATA_CHECKS = (
    "gcp.location",
    "gcp.versioning",
    "gcp.soft_delete",
    "gcp.encryption",
    "gcp.cors",
    "gcp.iam",
)


def _identity(store: Store) -> str:
    if anonymous(store):
        return "no credentials (anonymous, for a local emulator)"
    kind = signing_kind(store)
    if kind == "iam":
        return (
            f"service account {store.credentials.impersonate_service_account}, impersonated "
            "(IAM Credentials API) by the source identity"
        )
    if kind == "hmac":
        return "an HMAC key (signing) and application default credentials (I/O)"
    if store.service_account and store.credentials.private_key:
        return f"service account {store.service_account}"
    if key_file(store):
        return f"the key file {key_file(store)}"
    return "application default credentials"


def validate(store: Store, context: ValidateContext) -> list[Finding]:
    findings: list[Finding] = []
    try:
        api = JsonApi(make_filesystem(store))
    except ByobError as exc:
        findings.append(Finding.failed("gcp.credentials", str(exc), hint=exc.hint or _ADMIN_HINT))
        return findings
    try:
        bucket: dict[str, Any] | None = api.get_bucket(store.bucket)
        status = 200
    except HttpStatusError as exc:
        bucket, status = None, exc.status
    except OSError as exc:  # unreachable endpoint, refused connection
        findings.append(
            Finding.failed(
                "gcp.credentials",
                f"cannot reach the storage endpoint: {type(exc).__name__}",
                hint="check the endpoint, the network and the credentials",
            )
        )
        return findings

    if status == 401:
        findings.append(
            Finding.failed(
                "gcp.credentials",
                f"{_identity(store)} was refused (HTTP 401)",
                hint="check the service account key or application default credentials",
            )
        )
    else:
        findings.append(Finding.passed("gcp.credentials", f"authenticated with {_identity(store)}"))

    if status == 403:
        findings.append(
            Finding.failed(
                "gcp.bucket",
                f"HTTP 403 on the metadata of gs://{store.bucket}: {LACKS_ADMIN}",
                hint=f"{_ADMIN_HINT} (it must read CORS and versioning)",
                status=403,
            )
        )
    elif bucket is None:
        findings.append(
            Finding.failed(
                "gcp.bucket",
                f"bucket gs://{store.bucket} does not exist (HTTP {status})",
                hint="run `python -m byob_core provision` to create it",
                status=status,
            )
        )
    else:
        findings.append(Finding.passed("gcp.bucket", f"bucket gs://{store.bucket} exists"))

    if bucket is None:
        why = LACKS_ADMIN if status == 403 else "the bucket is not readable"
        findings.extend(Finding.skipped(check, f"not checked: {why}") for check in _METADATA_CHECKS)
    else:
        findings.extend(_metadata_findings(api, store, bucket, context))
    findings.append(_presigned(store, context, bucket is not None))
    findings.append(_preflight(store, bucket is not None))
    return findings


def _metadata_findings(
    api: JsonApi, store: Store, bucket: dict[str, Any], context: ValidateContext
) -> list[Finding]:
    desired = Desired.of(store, store.options, context.principal)
    out: list[Finding] = []
    location = str(bucket.get("location") or "")
    if desired.location and location.upper() != desired.location:
        out.append(
            Finding.warned(
                "gcp.location",
                f"bucket is in {location}, not the configured {desired.location}",
                hint="a bucket's location cannot change: fix the store's region, or move the data",
                location=location,
            )
        )
    else:
        out.append(Finding.passed("gcp.location", f"bucket location {location}", location=location))

    if versioning_on(bucket):
        out.append(Finding.passed("gcp.versioning", "object versioning is on"))
    else:
        out.append(
            Finding.failed(
                "gcp.versioning",
                "object versioning is off: a mistaken deletion cannot be recovered",
                hint=_PROVISION_HINT,
            )
        )

    seconds = soft_delete_seconds(bucket)
    if seconds <= 0:
        out.append(
            Finding.warned(
                "gcp.soft_delete", "soft delete is off", hint=_PROVISION_HINT, seconds=seconds
            )
        )
    elif seconds < desired.soft_delete_seconds:
        out.append(
            Finding.warned(
                "gcp.soft_delete",
                f"soft delete keeps objects {seconds // 86400} days, less than the "
                f"configured {desired.soft_delete_seconds // 86400}",
                hint=_PROVISION_HINT,
                seconds=seconds,
            )
        )
    else:
        out.append(
            Finding.passed(
                "gcp.soft_delete",
                f"soft delete keeps objects {seconds // 86400} days",
                seconds=seconds,
            )
        )

    current_key = kms_key(bucket)
    if desired.kms_key_name and current_key != desired.kms_key_name:
        out.append(
            Finding.failed(
                "gcp.encryption",
                f"default key is {current_key or 'Google-managed'}, not {desired.kms_key_name}",
                hint=_PROVISION_HINT,
            )
        )
    else:
        what = f"customer-managed key {current_key}" if current_key else "Google-managed encryption"
        out.append(Finding.passed("gcp.encryption", what))

    rules = bucket.get("cors") or []
    if cors_covers(rules):
        out.append(
            Finding.passed("gcp.cors", "CORS lets any origin GET, HEAD and PUT and read ETag")
        )
    else:
        out.append(
            Finding.failed(
                "gcp.cors",
                "no CORS rule lets browsers GET, HEAD and PUT from any origin and read ETag",
                hint="CORS can only be set through the API: " + _PROVISION_HINT,
                rules=rules,
            )
        )
    out.append(_iam(api, store, desired.member))
    return out


def _iam(api: JsonApi, store: Store, member: str | None) -> Finding:
    if member is None:
        return Finding.skipped("gcp.iam", "no platform service account configured")
    try:
        policy = api.get_iam(store.bucket)
    except HttpStatusError as exc:
        if exc.status == 403:
            return Finding.warned(
                "gcp.iam",
                f"cannot read the bucket's IAM policy (HTTP 403): {LACKS_ADMIN}",
                hint=_ADMIN_HINT,
            )
        return Finding.skipped(
            "gcp.iam", f"the IAM policy is not readable here (HTTP {exc.status})"
        )
    if has_binding(policy, member):
        return Finding.passed("gcp.iam", f"{member} has {ADMIN_ROLE} on the bucket")
    return Finding.failed(
        "gcp.iam",
        f"{member} lacks {ADMIN_ROLE} on the bucket",
        hint=f"gcloud storage buckets add-iam-policy-binding gs://{store.bucket} "
        f"--member={member} --role={ADMIN_ROLE}",
    )


def _probe_key(store: Store) -> str:
    return f"{store.prefix}{keys.RESERVED}/validate/{uuid.uuid4().hex}.txt"


def _presigned(store: Store, context: ValidateContext, bucket_ok: bool) -> Finding:
    """A signed PUT, then a signed GET of the same bytes, over plain HTTP."""
    if context.read_only:
        return Finding.skipped("gcp.presigned", "read-only validation: no signed PUT")
    if not bucket_ok:
        return Finding.skipped("gcp.presigned", "not checked: the bucket is not readable")
    try:
        signer = signer_for(store)
    except ByobError as exc:
        return Finding.warned("gcp.presigned", f"cannot sign URLs: {exc.args[0]}", hint=exc.hint)
    key = _probe_key(store)
    body = f"byob signed-URL check {uuid.uuid4().hex}".encode()
    at, life = utcnow(), dt.timedelta(minutes=5)
    put = signer.sign(
        SignRequest(key=key, method="PUT", at=at, expires=life, content_type="text/plain")
    )
    get = signer.sign(SignRequest(key=key, method="GET", at=at, expires=life))
    generation: str | None = None
    try:
        try:
            policy = retries.policy_of(store)
            status, answer, _ = retries.send(
                "PUT", put.url, body, dict(put.headers), policy=policy, what="validate PUT"
            )
            generation = answer.get("x-goog-generation")
            if status >= 300:
                return Finding.failed(
                    "gcp.presigned",
                    f"signed PUT answered HTTP {status}",
                    hint="check the signing key, its service account's role, and the clock",
                )
            status, _, content = retries.send("GET", get.url, policy=policy, what="validate GET")
        except OSError as exc:
            return Finding.failed(
                "gcp.presigned",
                f"signed request failed: {type(exc).__name__}",
                hint="check the endpoint",
            )
        if status != 200 or content != body:
            return Finding.failed(
                "gcp.presigned",
                f"signed GET answered HTTP {status} without the bytes written",
                hint="check the signing key and the clock",
            )
        return Finding.passed(
            "gcp.presigned", f"signed PUT then GET of {len(body)} bytes over HTTP"
        )
    finally:
        _remove(store, key, generation)


def _remove(store: Store, key: str, generation: str | None = None) -> None:
    """Delete the check's object for good: by its generation (from the PUT's answer, or
    listed after a plain delete), since on a versioned bucket a plain delete leaves a
    noncurrent generation behind. A leftover is harmless; the next run tries again."""
    from byob_core.objects import DeleteBatch, Entry, Kind, ListRequest

    from byob_gcp.collect import delete_batch, list_entries

    with contextlib.suppress(Exception):
        if generation:
            entry = Entry(key=key, modified=utcnow(), version_id=generation)
            result = delete_batch(store, DeleteBatch(kind=Kind.VERSIONS, entries=[entry]))
            if not result.errors:
                return
    with contextlib.suppress(OSError, ValueError, ByobError):
        make_filesystem(store).rm_file(store.fs_path(key))
    with contextlib.suppress(Exception):
        request = ListRequest(kind=Kind.VERSIONS, prefix=key)
        left = [e for e in list_entries(store, request) if e.key == key and e.version_id]
        if left:
            delete_batch(store, DeleteBatch(kind=Kind.VERSIONS, entries=left))


def _preflight(store: Store, bucket_ok: bool) -> Finding:
    """A CORS preflight as a browser sends it before a PUT."""
    if not bucket_ok:
        return Finding.skipped("gcp.preflight", "not checked: the bucket is not readable")
    from urllib.parse import quote

    path = quote(f"{store.prefix}{keys.RESERVED}/preflight", safe="/~")
    url = f"{signing_endpoint(store)}/{store.bucket}/{path}"
    headers = {
        "Origin": PREFLIGHT_ORIGIN,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type",
    }
    try:
        status, answer, _ = retries.send(
            "OPTIONS", url, headers=headers, policy=retries.policy_of(store), what="preflight"
        )
    except OSError as exc:
        return Finding.failed(
            "gcp.preflight", f"preflight failed: {type(exc).__name__}", hint="check the endpoint"
        )
    if status in (405, 501):
        return Finding.warned(
            "gcp.preflight",
            f"the endpoint does not answer CORS preflights (HTTP {status})",
            hint="an emulator may not; Cloud Storage does",
        )
    allowed = answer.get("access-control-allow-origin", "")
    if status < 300 and allowed in ("*", PREFLIGHT_ORIGIN):
        return Finding.passed("gcp.preflight", f"preflight PUT from {PREFLIGHT_ORIGIN} allowed")
    return Finding.failed(
        "gcp.preflight",
        f"preflight PUT from {PREFLIGHT_ORIGIN} refused (HTTP {status})",
        hint="set the bucket's CORS rule: " + _PROVISION_HINT,
    )
