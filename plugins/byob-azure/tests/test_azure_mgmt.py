"""Management plane (versioning, container soft delete) through a stand-in for ARM.

There is no local Azure Resource Manager, so `mgmt.management_client` is replaced by an
in-memory one that keeps a real ``BlobServiceProperties`` model; the data plane is still
Azurite.
"""

from __future__ import annotations

import copy

import attrs
import pytest
from byob_azure import mgmt, provision, validate
from byob_core.findings import Status
from byob_core.plans import Action
from byob_core.provider import ProvisionContext, ValidateContext

SETTINGS = {"subscription_id": "sub-1", "resource_group": "rg-1"}


class FakeBlobServices:
    def __init__(self) -> None:
        from azure.mgmt.storage.models import BlobServiceProperties, CorsRule, CorsRules

        rule = CorsRule(
            allowed_origins=["https://keep.example"],
            allowed_methods=["GET"],
            max_age_in_seconds=1,
            exposed_headers=[],
            allowed_headers=[],
        )
        self.props = BlobServiceProperties(cors=CorsRules(cors_rules=[rule]))
        self.writes = 0
        self.refuse = False

    def get_service_properties(self, group: str, account: str):  # type: ignore[no-untyped-def]
        assert (group, account) == ("rg-1", "devstoreaccount1")
        if self.refuse:
            from azure.core.exceptions import HttpResponseError

            error = HttpResponseError(message="AuthorizationFailed")
            error.status_code = 403
            raise error
        return copy.deepcopy(self.props)

    def set_service_properties(self, group: str, account: str, parameters):  # type: ignore[no-untyped-def]
        self.writes += 1
        self.props = copy.deepcopy(parameters)
        return parameters


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> FakeBlobServices:
    services = FakeBlobServices()

    class Client:
        blob_services = services

    monkeypatch.setattr(mgmt, "management_client", lambda store, settings: Client())
    return services


def by_name(plan):  # type: ignore[no-untyped-def]
    return {c.name: c for c in plan.changes}


@pytest.mark.usefixtures("bare_service")
class TestThroughArm:
    def test_unavailable_without_subscription(self) -> None:
        assert "subscription_id and resource_group" in (mgmt.unavailable_reason({}) or "")
        assert mgmt.unavailable_reason(SETTINGS) is None

    def test_plan_apply_then_nothing(self, new_store, arm: FakeBlobServices) -> None:  # type: ignore[no-untyped-def]
        store = new_store()
        plan = provision.plan(store, ProvisionContext(apply=False, settings=SETTINGS))
        assert by_name(plan)["versioning"].action is Action.UPDATE
        assert by_name(plan)["container-soft-delete"].action is Action.UPDATE
        assert arm.writes == 0
        applied = provision.plan(
            store,
            ProvisionContext(apply=True, settings={**SETTINGS, "container_soft_delete_days": 14}),
        )
        assert by_name(applied)["versioning"].applied
        assert by_name(applied)["container-soft-delete"].applied
        assert arm.writes == 1
        assert arm.props.is_versioning_enabled is True
        assert arm.props.container_delete_retention_policy.days == 14
        # The whole resource was written back: other settings survive.
        assert arm.props.cors.cors_rules[0].allowed_origins == ["https://keep.example"]
        again = provision.plan(
            store,
            ProvisionContext(apply=True, settings={**SETTINGS, "container_soft_delete_days": 14}),
        )
        assert by_name(again)["versioning"].action is Action.NONE
        assert by_name(again)["container-soft-delete"].action is Action.NONE
        assert not again.has_changes
        assert arm.writes == 1

    def test_validate_reads_the_management_plane(self, new_store, arm: FakeBlobServices) -> None:  # type: ignore[no-untyped-def]
        store = attrs.evolve(new_store(), options=SETTINGS)
        provision.plan(store, ProvisionContext(apply=False))
        before = {f.check: f.status for f in validate.run(store, ValidateContext(read_only=True))}
        assert before["azure.versioning"] is Status.WARN
        assert before["azure.container_soft_delete"] is Status.WARN
        provision.plan(store, ProvisionContext(apply=True))
        after = {f.check: f.status for f in validate.run(store, ValidateContext(read_only=True))}
        assert after["azure.versioning"] is Status.PASS
        assert after["azure.container_soft_delete"] is Status.PASS

    def test_refused_management_plane_stays_manual(self, new_store, arm: FakeBlobServices) -> None:  # type: ignore[no-untyped-def]
        arm.refuse = True
        store = attrs.evolve(new_store(), options=SETTINGS)
        plan = provision.plan(store, ProvisionContext(apply=True))
        change = by_name(plan)["versioning"]
        assert change.action is Action.MANUAL
        assert "HTTP 403" in change.summary
        findings = {f.check: f for f in validate.run(store, ValidateContext(read_only=True))}
        assert findings["azure.container_soft_delete"].status is Status.SKIP
        assert "refused" in findings["azure.container_soft_delete"].message
