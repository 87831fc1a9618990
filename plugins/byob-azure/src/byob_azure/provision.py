"""Provisioning an Azure store (docs/providers/azure.md#what-it-provisions): what the data plane can do, and steps for the rest.

Applied with the store's own credentials (data plane):

* the container;
* blob service properties: the CORS rule (docs/providers/azure.md#what-it-provisions) and blob soft delete (delete
  retention, ``soft_delete_days``, default 7). The CORS rule is added beside any rules
  already there; a longer retention than asked is left alone.

Management-plane settings come with an ``az`` command line, a Terraform fragment and an
ARM fragment: blob versioning, container soft delete and, for a store reached through a
managed identity (team stores), the identity's federated credential and its two role
assignments. Versioning and container soft delete are read and applied through
azure-mgmt-storage (`byob_azure.mgmt`) when a subscription and resource group are
configured and the ``mgmt`` extra is installed; otherwise they, like the identity
items always, are MANUAL until a person marks them done with ``settings["manual_done"]``.

Sub-path: Blob Storage folders are virtual (flat namespace), so there is nothing to
create; the first blob under the sub-path makes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from byob_core.plans import Action, Change, Plan
from byob_core.provider import ProvisionContext
from byob_core.stores import Store

from byob_azure import clients, mgmt

DEFAULT_SOFT_DELETE_DAYS = 7
DEFAULT_CONTAINER_SOFT_DELETE_DAYS = 7
DEFAULT_CORS_MAX_AGE = 3600
CORS_METHODS = ("GET", "HEAD", "PUT")
#: Azure keeps at most five CORS rules per service.
MAX_CORS_RULES = 5
ROLES = ("Storage Account Contributor", "Storage Blob Data Owner")
AUDIENCE = "api://AzureADTokenExchange"


def settings_of(store: Store, context: ProvisionContext | None = None) -> dict[str, Any]:
    merged: dict[str, Any] = dict(store.options)
    if context is not None:
        merged.update(context.settings)
    return merged


def desired_cors(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The CORS rule (docs/providers/azure.md#what-it-provisions) as a plain document."""
    return {
        "allowed_origins": ["*"],
        "allowed_methods": list(CORS_METHODS),
        "allowed_headers": ["*"],
        "exposed_headers": ["*"],
        "max_age_in_seconds": int(settings.get("cors_max_age", DEFAULT_CORS_MAX_AGE)),
    }


def _split(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value or ()]


def rule_document(rule: Any) -> dict[str, Any]:
    """A CorsRule of the SDK as a plain document (lists, not comma strings)."""
    return {
        "allowed_origins": _split(rule.allowed_origins),
        "allowed_methods": [m.upper() for m in _split(rule.allowed_methods)],
        "allowed_headers": _split(rule.allowed_headers),
        "exposed_headers": _split(rule.exposed_headers),
        "max_age_in_seconds": int(rule.max_age_in_seconds or 0),
    }


def cors_satisfied(rules: list[dict[str, Any]]) -> bool:
    """True when one rule lets any origin GET, HEAD and PUT with any header, exposing ETag."""
    for rule in rules:
        exposed = {h.lower() for h in rule["exposed_headers"]}
        if (
            "*" in rule["allowed_origins"]
            and set(CORS_METHODS) <= set(rule["allowed_methods"])
            and "*" in rule["allowed_headers"]
            and ("*" in exposed or "etag" in exposed)
        ):
            return True
    return False


def _sdk_rule(doc: Mapping[str, Any]) -> Any:
    from azure.storage.blob import CorsRule

    return CorsRule(
        list(doc["allowed_origins"]),
        list(doc["allowed_methods"]),
        allowed_headers=list(doc["allowed_headers"]),
        exposed_headers=list(doc["exposed_headers"]),
        max_age_in_seconds=int(doc["max_age_in_seconds"]),
    )


def plan(store: Store, context: ProvisionContext) -> Plan:
    settings = settings_of(store, context)
    changes = [_container(store, context)]
    if store.subpath:
        changes.append(
            Change(
                name="subpath-folder",
                action=Action.NONE,
                summary=f"sub-path {store.subpath}/ is virtual in Blob Storage: nothing to create",
                current={"virtual": True},
                desired={"virtual": True},
            )
        )
    changes += _service_properties(store, context, settings)
    managed = manual_changes(store, context, settings)
    if mgmt.unavailable_reason(settings) is None:
        managed = _through_arm(store, context, settings, managed)
    changes += managed
    return Plan(store=store, changes=changes, applied=context.apply, team=context.team)


def _container(store: Store, context: ProvisionContext) -> Change:
    client = clients.container(store)
    name = store.container or store.bucket
    try:
        exists = client.exists()
    except Exception as exc:
        raise clients.translate(exc, f"read container {name!r}") from exc
    applied = False
    if context.apply and not exists:
        try:
            client.create_container()
        except Exception as exc:
            if clients.error_code(exc) != "ContainerAlreadyExists":
                raise clients.translate(exc, f"create container {name!r}") from exc
        applied = True
    return Change(
        name="container",
        action=Action.NONE if exists else Action.CREATE,
        summary=f"container {name} in account {store.account} "
        + ("exists" if exists else "will be created (private, no public access)"),
        current={"exists": exists},
        desired={"exists": True, "public_access": None},
        applied=applied,
    )


def _service_properties(
    store: Store, context: ProvisionContext, settings: Mapping[str, Any]
) -> list[Change]:
    from azure.storage.blob import RetentionPolicy

    service = clients.service(store)
    try:
        props = service.get_service_properties()
    except Exception as exc:
        raise clients.translate(exc, "read the blob service properties") from exc
    rules = [rule_document(r) for r in props.get("cors") or []]
    want_rule = desired_cors(settings)
    cors_ok = cors_satisfied(rules)
    retention = props.get("delete_retention_policy")
    days_now = int(retention.days or 0) if retention is not None and retention.enabled else 0
    days_want = int(settings.get("soft_delete_days", DEFAULT_SOFT_DELETE_DAYS))
    soft_ok = days_now >= days_want > 0

    cors_change = Change(
        name="cors",
        action=Action.NONE if cors_ok else Action.UPDATE,
        summary="blob service CORS "
        + ("allows GET/HEAD/PUT from any origin" if cors_ok else "gets the byob rule added")
        + (f" (keeping {len(rules)} existing rule(s))" if rules and not cors_ok else ""),
        current=rules,
        desired=rules if cors_ok else [*rules, want_rule],
        documents={"cors_rule": want_rule},
    )
    soft_change = Change(
        name="soft-delete",
        action=Action.NONE if soft_ok else Action.UPDATE,
        summary=(
            f"blob soft delete keeps deleted blobs {days_now} days"
            if soft_ok
            else f"blob soft delete: {days_now or 'off'} -> {days_want} days"
        ),
        current={"enabled": bool(days_now), "days": days_now or None},
        desired={"enabled": True, "days": max(days_now, days_want)},
    )
    if context.apply and not (cors_ok and soft_ok):
        kwargs: dict[str, Any] = {}
        if not cors_ok:
            if len(rules) >= MAX_CORS_RULES:
                cors_change = Change(
                    name="cors",
                    action=Action.MANUAL,
                    summary=f"blob service already has {len(rules)} CORS rules (the most "
                    "Azure allows): replace one with the byob rule",
                    current=rules,
                    desired=[*rules[:-1], want_rule],
                    documents={"cors_rule": want_rule},
                    steps=[_az_cors(store, want_rule)],
                )
            else:
                kwargs["cors"] = [_sdk_rule(doc) for doc in [*rules, want_rule]]
        if not soft_ok:
            kwargs["delete_retention_policy"] = RetentionPolicy(enabled=True, days=days_want)
        if kwargs:
            try:
                service.set_service_properties(**kwargs)
            except Exception as exc:
                raise clients.translate(exc, "set the blob service properties") from exc
            if "cors" in kwargs:
                cors_change = _applied(cors_change)
            if not soft_ok:
                soft_change = _applied(soft_change)
    return [cors_change, soft_change]


def _applied(change: Change) -> Change:
    import attrs

    return attrs.evolve(change, applied=True)


# -- management plane ------------------------------------------------------------------


def _names(store: Store, settings: Mapping[str, Any]) -> dict[str, str]:
    return {
        "account": store.account or "<storage account>",
        "container": store.container or store.bucket,
        "rg": str(settings.get("resource_group") or "<resource group>"),
        "sub": str(settings.get("subscription_id") or "<subscription id>"),
        "identity": str(settings.get("identity_name") or "<managed identity name>"),
        "client_id": store.client_id or "<managed identity client id>",
        "issuer": str(settings.get("oidc_issuer") or "<the instance's OIDC issuer URL>"),
        "subject": str(settings.get("federated_subject") or "<subject the instance presents>"),
    }


def _az_cors(store: Store, rule: Mapping[str, Any]) -> str:
    return (
        f"az storage cors add --account-name {store.account} --services b "
        f"--origins '*' --methods {' '.join(rule['allowed_methods'])} "
        f"--allowed-headers '*' --exposed-headers '*' --max-age {rule['max_age_in_seconds']}"
    )


def manual_changes(
    store: Store, context: ProvisionContext, settings: Mapping[str, Any]
) -> list[Change]:
    """The management-plane changes: each a MANUAL step with az, Terraform and ARM text."""
    n = _names(store, settings)
    days = int(settings.get("container_soft_delete_days", DEFAULT_CONTAINER_SOFT_DELETE_DAYS))
    scope = (
        f"/subscriptions/{n['sub']}/resourceGroups/{n['rg']}"
        f"/providers/Microsoft.Storage/storageAccounts/{n['account']}"
    )
    blob_services_arm = {
        "type": "Microsoft.Storage/storageAccounts/blobServices",
        "apiVersion": "2023-05-01",
        "name": f"{n['account']}/default",
        "properties": {
            "isVersioningEnabled": True,
            "containerDeleteRetentionPolicy": {"enabled": True, "days": days},
        },
    }
    done = set(_split(settings.get("manual_done")))
    changes = [
        Change(
            name="versioning",
            action=Action.NONE if "versioning" in done else Action.MANUAL,
            summary="blob versioning (management plane): turn it on so overwritten and "
            "deleted blobs stay recoverable",
            desired={"isVersioningEnabled": True},
            documents={"arm": blob_services_arm},
            steps=[
                f"az storage account blob-service-properties update --account-name "
                f"{n['account']} --resource-group {n['rg']} --enable-versioning true",
                'resource "azurerm_storage_account" "byob" {\n'
                "  # ...\n  blob_properties {\n    versioning_enabled = true\n  }\n}",
                "ARM: " + json.dumps(blob_services_arm),
            ],
        ),
        Change(
            name="container-soft-delete",
            action=Action.NONE if "container-soft-delete" in done else Action.MANUAL,
            summary=f"container soft delete (management plane): keep deleted containers "
            f"{days} days",
            desired={"enabled": True, "days": days},
            documents={"arm": blob_services_arm},
            steps=[
                f"az storage account blob-service-properties update --account-name "
                f"{n['account']} --resource-group {n['rg']} "
                f"--enable-container-delete-retention true "
                f"--container-delete-retention-days {days}",
                'resource "azurerm_storage_account" "byob" {\n  # ...\n  blob_properties {\n'
                f"    container_delete_retention_policy {{\n      days = {days}\n    }}\n  }}\n}}",
                "ARM: " + json.dumps(blob_services_arm),
            ],
        ),
    ]
    if store.client_id or settings.get("identity_name"):
        changes.append(
            Change(
                name="federated-credential",
                action=Action.NONE if "federated-credential" in done else Action.MANUAL,
                summary=f"federated credential on managed identity {n['client_id']} for "
                f"issuer {n['issuer']} (audience {AUDIENCE})",
                desired={"issuer": n["issuer"], "subject": n["subject"], "audiences": [AUDIENCE]},
                steps=[
                    f"az identity federated-credential create --name byob "
                    f"--identity-name {n['identity']} --resource-group {n['rg']} "
                    f"--issuer {n['issuer']} --subject {n['subject']} --audiences {AUDIENCE}",
                    'resource "azurerm_federated_identity_credential" "byob" {\n'
                    '  name                = "byob"\n'
                    f'  resource_group_name = "{n["rg"]}"\n'
                    "  parent_id           = azurerm_user_assigned_identity.byob.id\n"
                    f'  issuer              = "{n["issuer"]}"\n'
                    f'  subject             = "{n["subject"]}"\n'
                    f'  audience            = ["{AUDIENCE}"]\n}}',
                ],
            )
        )
        changes.append(
            Change(
                name="role-assignments",
                action=Action.NONE if "role-assignments" in done else Action.MANUAL,
                summary=f"grant the managed identity {' and '.join(ROLES)} on the account",
                desired={"roles": list(ROLES), "scope": scope},
                steps=[
                    *(
                        f"az role assignment create --assignee {n['client_id']} "
                        f'--role "{role}" --scope {scope}'
                        for role in ROLES
                    ),
                    *(
                        f'resource "azurerm_role_assignment" "byob_{i}" {{\n'
                        f"  scope                = azurerm_storage_account.byob.id\n"
                        f'  role_definition_name = "{role}"\n'
                        "  principal_id         = "
                        "azurerm_user_assigned_identity.byob.principal_id\n}"
                        for i, role in enumerate(ROLES)
                    ),
                ],
            )
        )
    return changes


def _through_arm(
    store: Store, context: ProvisionContext, settings: Mapping[str, Any], changes: list[Change]
) -> list[Change]:
    """Versioning and container soft delete read (and applied) through the management plane."""
    import attrs

    days = int(settings.get("container_soft_delete_days", DEFAULT_CONTAINER_SOFT_DELETE_DAYS))
    try:
        state = mgmt.read_state(store, settings)
    except Exception as exc:
        note = f" (management plane not readable: {clients.translate(exc, 'read')})"
        return [
            attrs.evolve(c, summary=c.summary + note)
            if c.name in ("versioning", "container-soft-delete")
            else c
            for c in changes
        ]
    soft_ok = (state.container_soft_delete_days or 0) >= days
    needed = not state.satisfies(days)
    applied = False
    if context.apply and needed:
        mgmt.apply(store, settings, days=days)
        applied = True
    out = []
    for change in changes:
        if change.name == "versioning":
            change = attrs.evolve(
                change,
                action=Action.NONE if state.versioning else Action.UPDATE,
                current={"isVersioningEnabled": state.versioning},
                applied=applied and not state.versioning,
            )
        elif change.name == "container-soft-delete":
            change = attrs.evolve(
                change,
                action=Action.NONE if soft_ok else Action.UPDATE,
                current={
                    "enabled": bool(state.container_soft_delete_days),
                    "days": state.container_soft_delete_days,
                },
                applied=applied and not soft_ok,
            )
        out.append(change)
    return out
