"""What byob asks of a GCS bucket (docs/providers/gcp.md#what-it-provisions), compared with what the JSON API reports (`byob_provision`).

The desired state: the bucket in its location; uniform bucket-level access; object
versioning; a soft delete policy (7 days unless ``soft_delete_days`` says otherwise);
Google-managed encryption, or the customer key named by ``kms_key_name``; the CORS rule; ``roles/storage.admin`` on the bucket for the platform service account.
Everything but the IAM binding is one bucket PATCH; the binding is a read-modify-write
of the bucket's IAM policy, and becomes a manual step where the credentials (or the
endpoint) cannot read or set it. The check functions here are shared with validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from byob_core.errors import StoreAccessError
from byob_core.plans import Action, Change, Plan
from byob_core.provider import ProvisionContext
from byob_core.stores import Store

from byob_gcp.credentials import project_of
from byob_gcp.filesystem import FALLBACK_PROJECT, HttpStatusError, JsonApi, make_filesystem

ADMIN_ROLE = "roles/storage.admin"
DEFAULT_SOFT_DELETE_DAYS = 7
DEFAULT_CORS_MAX_AGE = 3600
CORS_METHODS = ("GET", "HEAD", "PUT")
#: GCS's responseHeader is both the allowed request headers and the exposed response
#: headers: Content-Type (docs/providers/gcp.md#what-it-provisions), Content-MD5 (every part carries it) and ETag (the
#: uploader reads each part's ETag).
CORS_HEADERS = ("Content-Type", "Content-MD5", "ETag")
LACKS_ADMIN = f"the service account lacks {ADMIN_ROLE}"


@attrs.frozen(kw_only=True)
class Desired:
    """The bucket settings byob asks for (docs/providers/gcp.md#what-it-provisions), with the store's options applied."""

    location: str | None
    soft_delete_seconds: int
    kms_key_name: str | None
    cors_max_age: int
    member: str | None

    @classmethod
    def of(cls, store: Store, settings: Mapping[str, Any], principal: str | None) -> Desired:
        days = settings.get("soft_delete_days", DEFAULT_SOFT_DELETE_DAYS)
        kms = settings.get("kms_key_name") or settings.get("kms_key")
        encryption = str(settings.get("encryption") or "")
        if not kms and encryption.startswith("projects/"):
            kms = encryption
        location = store.region or settings.get("location")
        return cls(
            location=str(location).upper() if location else None,
            soft_delete_seconds=int(float(days) * 86400),
            kms_key_name=str(kms) if kms else None,
            cors_max_age=int(settings.get("cors_max_age", DEFAULT_CORS_MAX_AGE)),
            member=member_of(principal),
        )

    def cors_rule(self) -> dict[str, Any]:
        return {
            "origin": ["*"],
            "method": list(CORS_METHODS),
            "responseHeader": list(CORS_HEADERS),
            "maxAgeSeconds": self.cors_max_age,
        }


def member_of(principal: str | None) -> str | None:
    """The IAM member of a principal: ``serviceAccount:<e-mail>`` unless already typed."""
    if not principal:
        return None
    if ":" in principal:
        return principal
    kind = "serviceAccount" if principal.endswith(".gserviceaccount.com") else "user"
    return f"{kind}:{principal}"


# -- checks of a bucket resource (shared with validation) --------------------------------


def versioning_on(bucket: Mapping[str, Any]) -> bool:
    return bool((bucket.get("versioning") or {}).get("enabled"))


def uniform_access_on(bucket: Mapping[str, Any]) -> bool:
    config = bucket.get("iamConfiguration") or {}
    return bool((config.get("uniformBucketLevelAccess") or {}).get("enabled"))


def soft_delete_seconds(bucket: Mapping[str, Any]) -> int:
    policy = bucket.get("softDeletePolicy") or {}
    return int(policy.get("retentionDurationSeconds") or 0)


def kms_key(bucket: Mapping[str, Any]) -> str | None:
    return (bucket.get("encryption") or {}).get("defaultKmsKeyName") or None


def cors_covers(rules: Any, desired: Desired | None = None) -> bool:
    """Whether one CORS rule lets any origin GET, HEAD and PUT and exposes ETag."""
    need_headers = {h.lower() for h in ("Content-Type", "ETag")}
    for rule in rules or ():
        origins = set(rule.get("origin") or ())
        methods = {m.upper() for m in rule.get("method") or ()}
        headers = {h.lower() for h in rule.get("responseHeader") or ()}
        if "*" not in origins or not set(CORS_METHODS) <= methods:
            continue
        if "*" not in headers and not need_headers <= headers:
            continue
        if desired is not None and int(rule.get("maxAgeSeconds") or 0) != desired.cors_max_age:
            continue
        return True
    return False


def has_binding(policy: Mapping[str, Any], member: str) -> bool:
    return any(
        b.get("role") == ADMIN_ROLE and member in (b.get("members") or ())
        for b in policy.get("bindings") or ()
    )


def with_binding(policy: Mapping[str, Any], member: str) -> dict[str, Any]:
    """The policy with `member` added to the storage.admin binding (etag kept for the write)."""
    new = {k: v for k, v in policy.items() if k not in ("bindings", "kind", "resourceId")}
    bindings = [dict(b) for b in policy.get("bindings") or ()]
    for binding in bindings:
        if binding.get("role") == ADMIN_ROLE and not binding.get("condition"):
            binding["members"] = sorted({*binding.get("members", ()), member})
            break
    else:
        bindings.append({"role": ADMIN_ROLE, "members": [member]})
    new["bindings"] = bindings
    return new


def _iam_steps(bucket: str, member: str) -> list[str]:
    return [
        f"gcloud storage buckets add-iam-policy-binding gs://{bucket} "
        f"--member={member} --role={ADMIN_ROLE}"
    ]


# -- the plan ---------------------------------------------------------------------------------


def _settings_changes(
    bucket: Mapping[str, Any], desired: Desired, new_bucket: bool
) -> list[tuple[Change, dict[str, Any]]]:
    """One change per bucket setting, each with the PATCH body that makes it."""
    todo = Action.CREATE if new_bucket else Action.UPDATE
    out: list[tuple[Change, dict[str, Any]]] = []

    def add(
        name: str, ok: bool, summary: str, current: Any, want: Any, body: dict[str, Any]
    ) -> None:
        action = Action.NONE if ok else todo
        out.append(
            (Change(name=name, action=action, summary=summary, current=current, desired=want), body)
        )

    add(
        "uniform-access",
        uniform_access_on(bucket),
        "uniform bucket-level access "
        + ("is on" if uniform_access_on(bucket) else "will be turned on"),
        {"enabled": uniform_access_on(bucket)},
        {"enabled": True},
        {"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}}},
    )
    add(
        "versioning",
        versioning_on(bucket),
        "object versioning " + ("is on" if versioning_on(bucket) else "will be turned on"),
        {"enabled": versioning_on(bucket)},
        {"enabled": True},
        {"versioning": {"enabled": True}},
    )
    seconds = soft_delete_seconds(bucket)
    add(
        "soft-delete",
        seconds == desired.soft_delete_seconds,
        f"soft delete retention {seconds // 86400} days"
        + (
            ""
            if seconds == desired.soft_delete_seconds
            else f" -> {desired.soft_delete_seconds // 86400} days"
        ),
        {"retentionDurationSeconds": seconds},
        {"retentionDurationSeconds": desired.soft_delete_seconds},
        {"softDeletePolicy": {"retentionDurationSeconds": str(desired.soft_delete_seconds)}},
    )
    current_key = kms_key(bucket)
    add(
        "encryption",
        current_key == desired.kms_key_name,
        (
            f"customer-managed key {desired.kms_key_name}"
            if desired.kms_key_name
            else "Google-managed encryption"
        )
        + (
            ""
            if current_key == desired.kms_key_name
            else f" (now {current_key or 'Google-managed'})"
        ),
        {"defaultKmsKeyName": current_key},
        {"defaultKmsKeyName": desired.kms_key_name},
        {
            "encryption": {"defaultKmsKeyName": desired.kms_key_name}
            if desired.kms_key_name
            else None
        },
    )
    rules = list(bucket.get("cors") or ())
    covered = cors_covers(rules, desired)
    add(
        "cors",
        covered,
        "CORS lets any origin GET, HEAD and PUT and read ETag"
        + ("" if covered else " (rule will be added)"),
        rules,
        [desired.cors_rule()],
        {"cors": [*[r for r in rules if not cors_covers([r])], desired.cors_rule()]},
    )
    return out


def _location_change(bucket: Mapping[str, Any] | None, desired: Desired) -> Change:
    current = (bucket or {}).get("location")
    if bucket is None:
        where = desired.location or "the project's default location"
        return Change(
            name="location",
            action=Action.CREATE,
            summary=f"the bucket will be created in {where}",
            desired=desired.location,
        )
    if desired.location is None or str(current).upper() == desired.location:
        return Change(
            name="location",
            action=Action.NONE,
            summary=f"bucket location {current}",
            current=current,
            desired=desired.location or current,
        )
    return Change(
        name="location",
        action=Action.MANUAL,
        summary=f"bucket is in {current}, not {desired.location}; a location cannot change",
        current=current,
        desired=desired.location,
        steps=[f"create a bucket in {desired.location} and move the data: `gcloud storage cp -r`"],
    )


def _iam_change(api: JsonApi, store: Store, desired: Desired, exists: bool, apply: bool) -> Change:
    member = desired.member
    if member is None:
        return Change(
            name="iam",
            action=Action.NONE,
            summary="no platform service account configured: no binding",
        )
    binding = {"role": ADMIN_ROLE, "members": [member]}
    documents = {"binding": binding}
    if not exists and not apply:
        return Change(
            name="iam",
            action=Action.CREATE,
            summary=f"grant {ADMIN_ROLE} on the bucket to {member}",
            desired=binding,
            documents=documents,
        )
    try:
        policy = api.get_iam(store.bucket)
    except HttpStatusError as exc:
        why = LACKS_ADMIN if exc.status == 403 else f"the IAM API answered HTTP {exc.status}"
        return Change(
            name="iam",
            action=Action.MANUAL,
            summary=f"cannot read the bucket's IAM policy ({why}); grant {ADMIN_ROLE} to {member}",
            desired=binding,
            documents=documents,
            steps=_iam_steps(store.bucket, member),
        )
    if has_binding(policy, member):
        return Change(
            name="iam",
            action=Action.NONE,
            summary=f"{member} has {ADMIN_ROLE}",
            current=binding,
            desired=binding,
        )
    new_policy = with_binding(policy, member)
    documents = {"binding": binding, "policy": new_policy}
    change = Change(
        name="iam",
        action=Action.UPDATE,
        summary=f"grant {ADMIN_ROLE} on the bucket to {member}",
        current=policy.get("bindings") or [],
        desired=new_policy["bindings"],
        documents=documents,
    )
    if not apply:
        return change
    try:
        api.set_iam(store.bucket, new_policy)
    except HttpStatusError as exc:
        why = LACKS_ADMIN if exc.status == 403 else f"the IAM API answered HTTP {exc.status}"
        return attrs.evolve(
            change,
            action=Action.MANUAL,
            summary=f"cannot set the bucket's IAM policy ({why}); grant {ADMIN_ROLE} to {member}",
            steps=_iam_steps(store.bucket, member),
        )
    return attrs.evolve(change, applied=True)


def _forbidden(store: Store, exc: HttpStatusError) -> StoreAccessError:
    return StoreAccessError(
        f"cannot read the metadata of gs://{store.bucket}: HTTP {exc.status}",
        hint=f"{LACKS_ADMIN} on the bucket (it must read CORS and versioning)",
    )


def provision(store: Store, context: ProvisionContext) -> Plan:
    """The plan for `store`; with ``context.apply``, make every change the credentials allow."""
    settings = {**store.options, **context.settings}
    desired = Desired.of(store, settings, context.principal)
    api = JsonApi(make_filesystem(store))
    try:
        bucket: dict[str, Any] | None = api.get_bucket(store.bucket)
    except HttpStatusError as exc:
        if exc.status != 404:
            raise _forbidden(store, exc) from exc
        bucket = None

    changes: list[Change] = []
    new_bucket = bucket is None
    if new_bucket:
        changes.append(
            Change(
                name="bucket", action=Action.CREATE, summary=f"create bucket gs://{store.bucket}"
            )
        )
    else:
        changes.append(
            Change(name="bucket", action=Action.NONE, summary=f"bucket gs://{store.bucket} exists")
        )
    changes.append(_location_change(bucket, desired))
    pairs = _settings_changes(bucket or {}, desired, new_bucket)

    if context.apply:
        if new_bucket:
            body: dict[str, Any] = {"name": store.bucket}
            if desired.location:
                body["location"] = desired.location
            for _, patch in pairs:
                body.update({k: v for k, v in patch.items() if v is not None})
            try:
                api.create_bucket(body, project_of(store) or FALLBACK_PROJECT)
            except HttpStatusError as exc:
                raise StoreAccessError(
                    f"cannot create gs://{store.bucket}: HTTP {exc.status}",
                    hint="the credentials need storage.buckets.create in the project",
                ) from exc
            changes = [
                attrs.evolve(c, applied=True) if c.action is Action.CREATE else c for c in changes
            ]
            bucket = api.get_bucket(store.bucket)
            # Emulators keep less on insert than on PATCH: settle the rest with a PATCH.
            pending = [
                (c, p)
                for c, p in _settings_changes(bucket, desired, False)
                if c.action is not Action.NONE
            ]
        else:
            pending = [(c, p) for c, p in pairs if c.action is not Action.NONE]
        if pending:
            patch: dict[str, Any] = {
                "versioning": {"enabled": True}
            }  # fake-gcs-server resets it otherwise
            for _, body_part in pending:
                patch.update(body_part)
            try:
                api.patch_bucket(store.bucket, patch)
            except HttpStatusError as exc:
                raise _forbidden(store, exc) from exc
        after = api.get_bucket(store.bucket) if (pending or new_bucket) else bucket or {}
        still = {
            c.name
            for c, _ in _settings_changes(after, desired, False)
            if c.action is not Action.NONE
        }
        # A setting the endpoint did not keep stays pending: the plan says so, honestly.
        pairs = [
            (attrs.evolve(c, applied=c.action is not Action.NONE and c.name not in still), p)
            for c, p in pairs
        ]
    changes.extend(c for c, _ in pairs)
    changes.append(_iam_change(api, store, desired, exists=bucket is not None, apply=context.apply))
    return Plan(store=store, changes=changes, applied=context.apply)
