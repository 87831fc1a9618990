"""Provisioning and validation against gcp-storage-emulator (which keeps every bucket
metadata field) and fake-gcs-server (which drops some: the plan must say so)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest
from byob_core.findings import Status
from byob_core.plans import Action
from byob_core.provider import ProvisionContext, ValidateContext
from byob_core.stores import Store
from byob_gcp.filesystem import JsonApi, make_filesystem
from byob_gcp.plugin import byob_provision, byob_validate

PRINCIPAL = "wandb-integration@wandb-production.iam.gserviceaccount.com"
MEMBER = f"serviceAccount:{PRINCIPAL}"


def _plan(store: Store, apply: bool = False, **settings: object):
    return byob_provision(
        store=store, context=ProvisionContext(apply=apply, principal=PRINCIPAL, settings=settings)
    )


def _actions(plan) -> dict[str, str]:
    return {c.name: c.action.value for c in plan.changes}


def _findings(store: Store, **kwargs) -> dict[str, object]:
    context = ValidateContext(principal=PRINCIPAL, **kwargs)
    return {f.check: f for f in byob_validate(store=store, context=context)}


def _bucket(store: Store) -> dict:
    return JsonApi(make_filesystem(store)).get_bucket(store.bucket)


class TestProvisionRoundTrips:
    def test_plan_of_a_missing_bucket_changes_nothing(self, gcs_emulator: str, make_store) -> None:
        store = make_store(gcs_emulator)
        plan = _plan(store)
        assert _actions(plan)["bucket"] == "create"
        assert {"versioning", "soft-delete", "cors", "uniform-access", "iam"} <= {
            n for n, a in _actions(plan).items() if a == "create"
        }
        assert not plan.applied and not any(c.applied for c in plan.changes)
        with pytest.raises(FileNotFoundError):
            make_filesystem(store).info(store.bucket)

    def test_apply_then_metadata_round_trips_and_plan_is_empty(
        self, gcs_emulator: str, make_store
    ) -> None:
        store = make_store(gcs_emulator)
        applied = _plan(store, apply=True, soft_delete_days=10, cors_max_age=3000)
        assert applied.applied and all(
            c.applied for c in applied.changes if c.action in (Action.CREATE, Action.UPDATE)
        )
        bucket = _bucket(store)
        assert bucket["versioning"] == {"enabled": True}
        assert bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] is True
        assert int(bucket["softDeletePolicy"]["retentionDurationSeconds"]) == 10 * 86400
        (rule,) = bucket["cors"]
        assert rule["origin"] == ["*"] and rule["method"] == ["GET", "HEAD", "PUT"]
        assert "ETag" in rule["responseHeader"] and rule["maxAgeSeconds"] == 3000
        policy = JsonApi(make_filesystem(store)).get_iam(store.bucket)
        assert any(
            b["role"] == "roles/storage.admin" and MEMBER in b["members"]
            for b in policy["bindings"]
        )
        again = _plan(store, soft_delete_days=10, cors_max_age=3000)
        assert set(_actions(again).values()) == {"none"}

    def test_drift_is_planned_as_update_and_fixed(self, gcs_emulator: str, make_store) -> None:
        store = make_store(gcs_emulator)
        _plan(store, apply=True)
        JsonApi(make_filesystem(store)).patch_bucket(
            store.bucket,
            {
                "cors": [{"origin": ["https://other"], "method": ["GET"]}],
                "softDeletePolicy": {"retentionDurationSeconds": "0"},
            },
        )
        drift = _plan(store)
        assert _actions(drift)["cors"] == "update" and _actions(drift)["soft-delete"] == "update"
        cors = next(c for c in drift.changes if c.name == "cors")
        assert cors.current == [{"origin": ["https://other"], "method": ["GET"]}]
        _plan(store, apply=True)
        bucket = _bucket(store)
        assert {"origin": ["https://other"], "method": ["GET"]} in bucket["cors"]  # kept
        assert set(_actions(_plan(store)).values()) == {"none"}

    def test_customer_key_name(self, gcs_emulator: str, make_store) -> None:
        key = "projects/p/locations/us/keyRings/r/cryptoKeys/byob"
        store = make_store(gcs_emulator, options={"kms_key_name": key})
        _plan(store, apply=True)
        assert _bucket(store)["encryption"] == {"defaultKmsKeyName": key}
        assert _findings(store)["gcp.encryption"].status is Status.PASS
        other = make_store(gcs_emulator, bucket=store.bucket, options={"kms_key_name": key + "2"})
        assert _findings(other)["gcp.encryption"].status is Status.FAIL

    def test_location_mismatch_is_manual(self, gcs_emulator: str, make_store) -> None:
        store = make_store(gcs_emulator)
        _plan(store, apply=True)
        moved = make_store(gcs_emulator, bucket=store.bucket, region="europe-west4")
        location = next(c for c in _plan(moved).changes if c.name == "location")
        assert location.action is Action.MANUAL and location.steps
        assert _findings(moved)["gcp.location"].status is Status.WARN

    def test_unkept_settings_stay_pending_on_fake_gcs_server(
        self, fake_gcs: str, make_store
    ) -> None:
        """fake-gcs-server drops cors and softDeletePolicy: the plan must not claim them."""
        store = make_store(fake_gcs)
        plan = _plan(store, apply=True)
        by_name = {c.name: c for c in plan.changes}
        assert by_name["bucket"].applied and by_name["versioning"].applied
        assert not by_name["cors"].applied and not by_name["soft-delete"].applied
        assert by_name["iam"].action is Action.MANUAL  # no IAM API there
        assert "add-iam-policy-binding" in by_name["iam"].steps[0]


class TestValidate:
    def test_provisioned_store_passes_every_check(self, gcs_emulator: str, make_store) -> None:
        store = make_store(gcs_emulator, subpath="team")
        _plan(store, apply=True)
        found = _findings(store)
        for check in (
            "credentials",
            "bucket",
            "location",
            "versioning",
            "soft_delete",
            "encryption",
            "cors",
            "iam",
            "presigned",
        ):
            assert found[f"gcp.{check}"].status is Status.PASS, (
                check,
                found[f"gcp.{check}"].message,
            )
        # gcp-storage-emulator has no OPTIONS handler; Cloud Storage answers preflights.
        assert found["gcp.preflight"].status is Status.WARN
        assert make_filesystem(store).ls(store.bucket) == [], "the signed-URL check left a file"

    def test_unprovisioned_bucket_fails(self, gcs_emulator: str, make_store) -> None:
        found = _findings(make_store(gcs_emulator))
        assert found["gcp.bucket"].status is Status.FAIL
        assert found["gcp.cors"].status is Status.SKIP

    def test_read_only_skips_the_signed_put(self, gcs_emulator: str, make_store) -> None:
        store = make_store(gcs_emulator)
        _plan(store, apply=True)
        assert _findings(store, read_only=True)["gcp.presigned"].status is Status.SKIP

    def test_fake_gcs_server_misses_cors_and_soft_delete(self, fake_gcs: str, make_store) -> None:
        store = make_store(fake_gcs)
        _plan(store, apply=True)
        found = _findings(store)
        assert found["gcp.cors"].status is Status.FAIL and found["gcp.cors"].hint
        assert found["gcp.soft_delete"].status is Status.WARN
        assert found["gcp.versioning"].status is Status.PASS
        assert (
            found["gcp.presigned"].status is Status.PASS
        )  # signatures unchecked, request accepted
        assert found["gcp.preflight"].status is Status.PASS

    def test_missing_binding_fails_with_the_command(self, gcs_emulator: str, make_store) -> None:
        store = make_store(gcs_emulator)
        byob_provision(store=store, context=ProvisionContext(apply=True, principal=None))
        found = _findings(store)
        assert found["gcp.iam"].status is Status.FAIL
        assert "roles/storage.admin" in found["gcp.iam"].hint


class _Forbidden(http.server.BaseHTTPRequestHandler):
    """Answers every call as Cloud Storage does for a caller without the role."""

    def _deny(self) -> None:
        body = json.dumps(
            {"error": {"code": 403, "message": "caller does not have storage.buckets.get access"}}
        ).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _deny

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def forbidding() -> Iterator[str]:
    """An in-process server that answers 403 to everything (no emulator can)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class TestForbidden:
    def test_403_on_bucket_metadata_names_the_role(self, forbidding: str, make_store) -> None:
        found = _findings(make_store(forbidding))
        assert found["gcp.bucket"].status is Status.FAIL
        assert "the service account lacks roles/storage.admin" in found["gcp.bucket"].message
        assert all(
            found[c].status is Status.SKIP for c in ("gcp.cors", "gcp.versioning", "gcp.iam")
        )

    def test_403_in_provision_is_an_access_error(self, forbidding: str, make_store) -> None:
        from byob_core.errors import StoreAccessError

        with pytest.raises(StoreAccessError, match=r"roles/storage\.admin"):
            _plan(make_store(forbidding))
