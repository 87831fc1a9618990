"""Provision and validate against Azurite: the plan, its idempotence, and every finding."""

from __future__ import annotations

import attrs
import pytest
import requests
from byob_azure import clients, provision, validate
from byob_core.findings import Status
from byob_core.plans import Action
from byob_core.provider import ProvisionContext, ValidateContext
from byob_core.stores import Credentials

pytestmark = pytest.mark.usefixtures("bare_service")


def by_name(plan):  # type: ignore[no-untyped-def]
    return {change.name: change for change in plan.changes}


def statuses(findings) -> dict[str, Status]:  # type: ignore[no-untyped-def]
    return {f.check: f.status for f in findings}


class TestProvision:
    def test_plan_reads_and_changes_nothing(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = new_store()
        plan = provision.plan(store, ProvisionContext(apply=False))
        changes = by_name(plan)
        assert changes["container"].action is Action.CREATE
        assert changes["cors"].action is Action.UPDATE
        assert changes["soft-delete"].action is Action.UPDATE
        assert changes["versioning"].action is Action.MANUAL
        assert changes["container-soft-delete"].action is Action.MANUAL
        assert not any(c.applied for c in plan.changes)
        assert not clients.container(store).exists()

    def test_apply_then_second_run_has_nothing_to_do(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = new_store(subpath="teams/omega")
        first = provision.plan(
            store, ProvisionContext(apply=True, settings={"soft_delete_days": 9})
        )
        assert {c.name for c in first.changes if c.applied} == {"container", "cors", "soft-delete"}
        assert clients.container(store).exists()
        props = clients.service(store).get_service_properties()
        assert props["delete_retention_policy"].days == 9
        [rule] = [provision.rule_document(r) for r in props["cors"]]
        assert rule == provision.desired_cors({})
        second = provision.plan(
            store, ProvisionContext(apply=True, settings={"soft_delete_days": 9})
        )
        assert not second.has_changes
        assert {c.action for c in second.changes} <= {Action.NONE, Action.MANUAL}
        assert by_name(second)["subpath-folder"].action is Action.NONE

    def test_existing_cors_rules_are_kept(self, new_store) -> None:  # type: ignore[no-untyped-def]
        from azure.storage.blob import CorsRule

        store = new_store()
        other = CorsRule(["https://app.example"], ["GET"], max_age_in_seconds=60)
        clients.service(store).set_service_properties(cors=[other])
        provision.plan(store, ProvisionContext(apply=True))
        rules = [
            provision.rule_document(r)
            for r in clients.service(store).get_service_properties()["cors"]
        ]
        assert [r["allowed_origins"] for r in rules] == [["https://app.example"], ["*"]]

    def test_longer_retention_is_left_alone(self, new_store) -> None:  # type: ignore[no-untyped-def]
        from azure.storage.blob import RetentionPolicy

        store = new_store()
        clients.service(store).set_service_properties(
            delete_retention_policy=RetentionPolicy(enabled=True, days=30)
        )
        change = by_name(provision.plan(store, ProvisionContext(apply=False)))["soft-delete"]
        assert change.action is Action.NONE

    def test_managed_identity_store_lists_identity_steps(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = attrs.evolve(new_store(), client_id="11111111-2222-3333-4444-555555555555")
        plan = provision.manual_changes(
            store,
            ProvisionContext(),
            {
                "resource_group": "rg1",
                "subscription_id": "sub1",
                "identity_name": "byob-mi",
                "oidc_issuer": "https://wandb.example/oidc",
            },
        )
        changes = {c.name: c for c in plan}
        fed = changes["federated-credential"]
        assert fed.action is Action.MANUAL
        assert "--audiences api://AzureADTokenExchange" in fed.steps[0]
        assert "--issuer https://wandb.example/oidc" in fed.steps[0]
        roles = changes["role-assignments"].steps
        assert any('"Storage Account Contributor"' in s for s in roles)
        assert any('"Storage Blob Data Owner"' in s for s in roles)
        assert any("/subscriptions/sub1/resourceGroups/rg1/" in s for s in roles)
        assert any("azurerm_role_assignment" in s for s in roles)
        assert "--enable-versioning true" in changes["versioning"].steps[0]

    def test_manual_steps_marked_done_disappear(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = new_store()
        plan = provision.plan(
            store,
            ProvisionContext(
                apply=False, settings={"manual_done": "versioning,container-soft-delete"}
            ),
        )
        assert by_name(plan)["versioning"].action is Action.NONE

    def test_plan_has_no_secrets(self, new_store) -> None:  # type: ignore[no-untyped-def]
        import json

        store = new_store()
        text = json.dumps(provision.plan(store, ProvisionContext(apply=True)).to_dict())
        assert store.credentials.account_key not in text


class TestValidate:
    def test_unprovisioned_store_fails_with_hints(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = new_store()
        findings = validate.run(store, ValidateContext())
        got = statuses(findings)
        assert got["azure.credentials"] is Status.PASS
        assert got["azure.container"] is Status.FAIL
        assert got["azure.cors"] is Status.FAIL
        assert got["azure.soft_delete"] is Status.FAIL
        assert got["azure.presigned"] is Status.SKIP
        assert got["azure.preflight"] is Status.FAIL
        assert all(f.hint for f in findings if f.status is Status.FAIL)

    def test_provisioned_store_passes(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = new_store(subpath="team")
        provision.plan(store, ProvisionContext(apply=True))
        got = statuses(validate.run(store, ValidateContext()))
        assert got == {
            "azure.credentials": Status.PASS,
            "azure.container": Status.PASS,
            "azure.cors": Status.PASS,
            "azure.soft_delete": Status.PASS,
            "azure.presigned": Status.PASS,
            # Azurite keeps no versions: the PUT gets no x-ms-version-id.
            "azure.versioning": Status.WARN,
            "azure.container_soft_delete": Status.SKIP,
            "azure.preflight": Status.PASS,
        }
        # The presigned check cleans up after itself.
        assert list(clients.container(store).list_blobs()) == []

    def test_read_only_writes_nothing(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = new_store()
        provision.plan(store, ProvisionContext(apply=True))
        got = statuses(validate.run(store, ValidateContext(read_only=True)))
        assert got["azure.presigned"] is Status.SKIP
        assert got["azure.versioning"] is Status.SKIP

    def test_wrong_key_fails_credentials(self, new_store) -> None:  # type: ignore[no-untyped-def]
        import base64

        wrong = base64.b64encode(b"w" * 64).decode()
        store = attrs.evolve(new_store(), credentials=Credentials(account_key=wrong))
        findings = validate.run(store, ValidateContext())
        assert [(f.check, f.status) for f in findings] == [("azure.credentials", Status.FAIL)]
        assert wrong not in findings[0].message

    def test_unreachable_endpoint_fails_credentials(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = attrs.evolve(
            new_store(), endpoint="127.0.0.1:9/devstoreaccount1", options={"retry_total": 0}
        )
        [finding] = validate.run(store, ValidateContext())
        assert (finding.check, finding.status) == ("azure.credentials", Status.FAIL)
        assert "unreachable" in finding.message


class TestPreflight:
    """Azurite answers CORS preflights from the service properties byob provisioned."""

    def test_preflight_follows_the_provisioned_rule(self, new_store) -> None:  # type: ignore[no-untyped-def]
        store = new_store()
        url = f"{clients.base_url(store)}/{store.container}/any/key.bin"
        headers = {
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-ms-blob-type,content-md5",
        }
        before = requests.options(url, headers=headers, timeout=10)
        assert before.status_code == 403
        provision.plan(store, ProvisionContext(apply=True, settings={"cors_max_age": 1234}))
        after = requests.options(url, headers=headers, timeout=10)
        assert after.status_code == 200
        assert after.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example")
        assert "PUT" in after.headers["Access-Control-Allow-Methods"]
        assert after.headers["Access-Control-Max-Age"] == "1234"
        delete = requests.options(
            url,
            timeout=10,
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"},
        )
        assert delete.status_code == 403
