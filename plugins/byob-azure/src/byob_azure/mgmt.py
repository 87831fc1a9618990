"""The management plane (Azure Resource Manager): blob versioning and container soft delete.

Used only when the settings name a ``subscription_id`` and a ``resource_group`` and the
optional extra ``byob-azure[mgmt]`` (azure-mgmt-storage) is installed. It authenticates
with the store's Entra ID identity (managed identity or ambient credential), never with
the account key, which ARM does not accept. Without that, both settings stay MANUAL
steps in the plan and SKIP findings in validation.

The update reads the account's ``blobServices/default`` resource, changes the two
fields, and writes the whole resource back, as ``az storage account
blob-service-properties update`` does, so that CORS and delete retention set through
the data plane survive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from byob_core.stores import Store

from byob_azure import clients


@attrs.frozen(kw_only=True)
class BlobServiceState:
    """What the management plane says about the account's blob service."""

    versioning: bool
    container_soft_delete_days: int | None  # None: off

    def satisfies(self, days: int) -> bool:
        return self.versioning and (self.container_soft_delete_days or 0) >= days


def unavailable_reason(settings: Mapping[str, Any]) -> str | None:
    """Why the management plane cannot be used, or None when it can."""
    missing = [name for name in ("subscription_id", "resource_group") if not settings.get(name)]
    if missing:
        return f"no {' and '.join(missing)} configured for management-plane access"
    try:
        import azure.mgmt.storage  # noqa: F401
    except ImportError:
        return "azure-mgmt-storage is not installed (pip install 'byob-azure[mgmt]')"
    return None


def management_client(store: Store, settings: Mapping[str, Any]) -> Any:
    """A StorageManagementClient with the store's Entra ID identity."""
    from azure.mgmt.storage import StorageManagementClient

    kwargs: dict[str, Any] = {}
    if settings.get("management_endpoint"):
        kwargs["base_url"] = str(settings["management_endpoint"])
    return StorageManagementClient(
        clients.entra_credential(store), str(settings["subscription_id"]), **kwargs
    )


def _account(store: Store) -> str:
    return clients.account(store)


def read_state(store: Store, settings: Mapping[str, Any]) -> BlobServiceState:
    client = management_client(store, settings)
    try:
        props = client.blob_services.get_service_properties(
            str(settings["resource_group"]), _account(store)
        )
    except Exception as exc:
        raise clients.translate(exc, "read the blob service settings (management plane)") from exc
    policy = props.container_delete_retention_policy
    days = int(policy.days or 0) if policy is not None and policy.enabled else 0
    return BlobServiceState(
        versioning=bool(props.is_versioning_enabled), container_soft_delete_days=days or None
    )


def apply(store: Store, settings: Mapping[str, Any], *, days: int) -> BlobServiceState:
    """Turn on versioning and container soft delete (at least `days`); return the new state."""
    from azure.mgmt.storage.models import DeleteRetentionPolicy

    client = management_client(store, settings)
    group = str(settings["resource_group"])
    try:
        props = client.blob_services.get_service_properties(group, _account(store))
        current = props.container_delete_retention_policy
        keep = int(current.days or 0) if current is not None and current.enabled else 0
        props.is_versioning_enabled = True
        props.container_delete_retention_policy = DeleteRetentionPolicy(
            enabled=True, days=max(keep, days)
        )
        client.blob_services.set_service_properties(group, _account(store), props)
    except Exception as exc:
        raise clients.translate(exc, "update the blob service settings (management plane)") from exc
    return BlobServiceState(versioning=True, container_soft_delete_days=max(keep, days))
