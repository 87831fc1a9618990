"""MinIO's differences from AWS become findings and manual plan changes, never crashes.

Each test puts a MinIO-like proxy (conftest) in front of moto server or Ceph RGW: it answers the
requests MinIO refuses with MinIO's XML error, and forwards everything else.
"""

from __future__ import annotations

import json

import pytest
from byob_aws.s3 import client
from byob_core.findings import Status
from byob_core.plans import Action
from byob_core.provider import ProvisionContext, ValidateContext
from byob_minio.plugin import COREWEAVE, MINIO

ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def provision(store, *, apply=True, principal=None, **settings):
    plan = MINIO.provision(
        store, ProvisionContext(apply=apply, principal=principal, settings=settings)
    )
    return {c.name: c for c in plan.changes}


def validate(store, **fields):
    findings = MINIO.validate(store, ValidateContext(**fields))
    assert all(f.hint for f in findings if f.status in (Status.WARN, Status.FAIL)), findings
    assert all(f.provider == "minio" for f in findings)
    return {f.check: f for f in findings}


class TestPerBucketCors:
    """MinIO community edition answers NotImplemented to the bucket CORS API."""

    @pytest.mark.parametrize("refused", [("GET", "PUT"), ("PUT",)])
    def test_provision_makes_cors_a_manual_server_side_step(
        self, minio_like, make_store, refusals, refused
    ):
        """Whether the server refuses to read CORS or only to write it (older releases)."""
        proxy = minio_like({(m, "cors"): refusals["not_implemented"] for m in refused})
        store = make_store(proxy.endpoint, subpath="wandb")
        changes = provision(store)
        assert changes["bucket"].applied and changes["versioning"].applied
        cors = changes["cors"]
        assert cors.action is Action.MANUAL and not cors.applied
        assert "NotImplemented" in cors.summary
        assert 'mc admin config set <alias> api cors_allow_origin="*"' in cors.steps
        assert any("MINIO_API_CORS_ALLOW_ORIGIN" in step for step in cors.steps)
        assert cors.documents["CORSRules"][0]["ExposeHeaders"] == ["ETag"]
        assert any(m == refused[0] and "?cors" in p for m, p, _ in proxy.seen)

    def test_validate_warns_with_the_server_side_setting(self, minio_like, make_store, refusals):
        proxy = minio_like(refusals["community"])
        store = make_store(proxy.endpoint, subpath="wandb")
        provision(store)
        findings = validate(store)
        cors = findings["minio.cors"]
        assert cors.status is Status.WARN
        assert "cors_allow_origin" in cors.hint and "MINIO_API_CORS_ALLOW_ORIGIN" in cors.hint
        # The preflight is a real OPTIONS: moto without bucket rules refuses it, as a MinIO
        # without the server-wide setting would, and the hint names the setting again.
        preflight = findings["minio.preflight"]
        assert preflight.status is Status.FAIL and "cors_allow_origin" in preflight.hint
        assert findings["minio.versioning"].status is Status.PASS
        assert findings["minio.signed-url"].status is Status.PASS

    def test_a_second_plan_keeps_only_the_manual_step(self, minio_like, make_store, refusals):
        proxy = minio_like(refusals["community"])
        store = make_store(proxy.endpoint, subpath="wandb")
        provision(store)
        again = provision(store, apply=False)
        assert [n for n, c in again.items() if c.action in (Action.CREATE, Action.UPDATE)] == []
        assert again["cors"].action is Action.MANUAL

    def test_no_rules_on_minio_is_a_warning_naming_the_server_setting(self, minio_like, make_store):
        # Through the proxy the server answers as MinIO; RGW's and moto's own answers get
        # their own advice (test_minio_server_family.py).
        store = make_store(minio_like({}).endpoint, subpath="wandb")
        provision(store)
        client(store).delete_bucket_cors(Bucket=store.bucket)
        finding = validate(store)["minio.cors"]
        assert finding.status is Status.WARN and "cors_allow_origin" in finding.hint


class TestSingleDriveVersioning:
    """A single-drive MinIO refuses PutBucketVersioning."""

    def test_provision_reports_the_refusal_with_the_reason(self, minio_like, make_store, refusals):
        proxy = minio_like(refusals["single_drive"])
        store = make_store(proxy.endpoint, subpath="wandb")
        planned = provision(store, apply=False)
        assert (
            planned["versioning"].action is Action.CREATE
            or planned["versioning"].action is Action.UPDATE
        )
        changes = provision(store)
        versioning = changes["versioning"]
        assert versioning.action is Action.MANUAL and not versioning.applied
        assert "erasure-coded" in versioning.summary and "single-drive" in versioning.summary
        assert "NotImplemented" in versioning.summary
        assert any("mc version enable" in step for step in versioning.steps)
        # The other settings were still applied.
        assert changes["cors"].applied and changes["lifecycle"].applied

    def test_validate_fails_versioning_and_says_why(self, minio_like, make_store, refusals):
        proxy = minio_like(refusals["single_drive"])
        store = make_store(proxy.endpoint, subpath="wandb")
        provision(store)
        finding = validate(store)["minio.versioning"]
        assert finding.status is Status.FAIL
        assert "erasure-coded" in finding.hint and "single-drive" in finding.hint

    def test_a_server_without_the_versioning_api_fails_with_the_reason(
        self, minio_like, make_store, refusals
    ):
        # Older single-drive MinIO (FS mode) refuses even to read the versioning status.
        proxy = minio_like({("GET", "versioning"): refusals["not_implemented"]})
        store = make_store(proxy.endpoint, subpath="wandb")
        changes = provision(store)
        assert changes["versioning"].action is Action.MANUAL
        finding = validate(store)["minio.versioning"]
        assert finding.status is Status.FAIL and "erasure-coded" in finding.message


class TestKes:
    """MinIO encrypts with KES keys by name; an AWS KMS key ARN becomes a step, not a call."""

    def test_kms_key_arn_is_a_manual_kes_step_and_no_kms_call(self, minio_like, make_store):
        proxy = minio_like({})
        store = make_store(proxy.endpoint, subpath="wandb", kms_key_arn=ARN)
        changes = provision(store)
        encryption = changes["encryption"]
        assert encryption.action is Action.MANUAL
        assert "mc encrypt set sse-kms <kes-key-name> <alias>/" + store.bucket in encryption.steps
        assert ARN not in json.dumps(encryption.to_dict())
        assert not any(
            "x-amz-target" in {h.lower() for h in headers} for _, _, headers in proxy.seen
        )
        kms = validate(store)["minio.kms"]
        assert kms.status is Status.WARN and "mc encrypt set sse-kms" in kms.hint

    def test_kes_key_sets_sse_kms_through_the_s3_api(self, s3_endpoint, s3_server, make_store):
        store = make_store(s3_endpoint, subpath="wandb", options={"kes_key": "byob-key"})
        changes = provision(store)
        if s3_server == "rgw":
            # Ceph 16.2 reports no default encryption (GET ?encryption lists the bucket).
            assert changes["encryption"].action is Action.MANUAL
            steps = " ".join(changes["encryption"].steps)
            assert "rgw crypt s3 kms backend" in steps and "byob-key" in steps
            assert validate(store)["minio.encryption"].status is Status.WARN
            return
        assert changes["encryption"].applied
        assert changes["encryption"].desired == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": "byob-key",
        }
        assert provision(store, apply=False)["encryption"].action is Action.NONE
        assert validate(store)["minio.encryption"].status is Status.PASS

    def test_a_server_without_kms_makes_encryption_manual(self, minio_like, make_store, refusals):
        proxy = minio_like({("PUT", "encryption"): refusals["not_implemented"]})
        store = make_store(proxy.endpoint, subpath="wandb")
        encryption = provision(store)["encryption"]
        assert encryption.action is Action.MANUAL
        assert f"mc encrypt set sse-s3 <alias>/{store.bucket}" in encryption.steps
        assert validate(store)["minio.encryption"].status is Status.WARN


class TestOtherRefusals:
    def test_a_refused_lifecycle_rule_is_a_manual_ilm_step(self, minio_like, make_store):
        refusal = (400, "MalformedXML", "The XML you provided was not well-formed")
        proxy = minio_like({("PUT", "lifecycle"): refusal})
        store = make_store(proxy.endpoint, subpath="wandb")
        lifecycle = provision(store, noncurrent_days=12)["lifecycle"]
        assert lifecycle.action is Action.MANUAL and "MalformedXML" in lifecycle.summary
        assert any("--noncurrent-expire-days 12" in step for step in lifecycle.steps)
        assert validate(store)["minio.lifecycle"].status is Status.WARN

    def test_principal_is_granted_through_a_user_policy(self, minio_like, make_store):
        store = make_store(minio_like({}).endpoint, subpath="wandb")
        access = provision(store, principal="wandb-platform")["access"]
        assert access.action is Action.MANUAL
        policy = access.documents["user_policy"]
        assert all("Principal" not in s for s in policy["Statement"])
        actions = {a for s in policy["Statement"] for a in s["Action"]}
        assert len(actions) == 11 and "s3:ListBucketVersions" in actions
        assert (
            f"mc admin policy attach <alias> byob-{store.bucket} --user wandb-platform"
            in access.steps
        )
        finding = validate(store, principal="wandb-platform")["minio.access"]
        assert finding.status is Status.SKIP

    def test_anonymous_access_fails_the_public_check(self, s3_endpoint, make_store):
        store = make_store(s3_endpoint, subpath="wandb")
        provision(store)
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{store.bucket}/*"],
                }
            ],
        }
        client(store).put_bucket_policy(Bucket=store.bucket, Policy=json.dumps(policy))
        finding = validate(store)["minio.public"]
        assert finding.status is Status.FAIL and "s3:GetObject" in finding.message

    def test_missing_bucket_fails_and_skips_the_rest(self, s3_endpoint, make_store):
        store = make_store(s3_endpoint, subpath="wandb")
        findings = validate(store)
        assert findings["minio.bucket"].status is Status.FAIL
        assert {f.status for c, f in findings.items() if c != "minio.bucket"} == {Status.SKIP}


def test_coreweave_findings_are_named_for_coreweave(s3_endpoint, make_store):
    store = make_store(s3_endpoint, provider="coreweave", subpath="wandb")
    COREWEAVE.provision(store, ProvisionContext(apply=True))
    findings = COREWEAVE.validate(store, ValidateContext())
    assert findings and all(f.check.startswith("coreweave.") for f in findings)
    assert all(f.status is not Status.FAIL for f in findings), [
        (f.check, f.message) for f in findings if f.status is Status.FAIL
    ]


def test_read_only_validation_writes_nothing(s3_endpoint, make_store):
    store = make_store(s3_endpoint, subpath="wandb")
    provision(store)
    findings = validate(store, read_only=True)
    assert findings["minio.signed-url"].status is Status.SKIP
    listed = client(store).list_object_versions(Bucket=store.bucket)
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")


def test_coreweave_refusals_give_no_minio_commands(minio_like, make_store, refusals):
    proxy = minio_like({**refusals["community"], **refusals["single_drive"]})
    store = make_store(proxy.endpoint, provider="coreweave", subpath="wandb", kms_key_arn=ARN)
    plan = COREWEAVE.provision(store, ProvisionContext(apply=True))
    changes = {c.name: c for c in plan.changes}
    for name in ("cors", "versioning", "encryption"):
        assert changes[name].action is Action.MANUAL, name
        assert changes[name].steps and not any("mc " in s for s in changes[name].steps), name
    assert "CoreWeave" in changes["cors"].summary
    findings = {f.check: f for f in COREWEAVE.validate(store, ValidateContext())}
    assert findings["coreweave.cors"].status is Status.WARN
    assert "mc " not in findings["coreweave.cors"].hint


def test_plans_and_findings_hold_no_secret(minio_like, make_store, refusals):
    proxy = minio_like({**refusals["community"], **refusals["single_drive"]})
    store = make_store(proxy.endpoint, subpath="wandb", kms_key_arn=ARN)
    context = ProvisionContext(
        apply=True, principal="wandb-platform", settings={"deny_insecure_transport": True}
    )
    plan = MINIO.provision(store, context)
    tls = {c.name: c for c in plan.changes}["deny-insecure-transport"]
    assert tls.action is Action.MANUAL  # the store is plain HTTP
    text = json.dumps(plan.to_dict()) + json.dumps(
        [f.to_dict() for f in MINIO.validate(store, ValidateContext(principal="wandb-platform"))]
    )
    for secret in (*store.credentials.secret_values, store.credentials.access_key):
        assert secret not in text


def unordered(rules):
    """CORS rules with their lists sorted: RGW answers methods in its own order."""
    return [{k: sorted(v) if isinstance(v, list) else v for k, v in r.items()} for r in rules]


def test_provision_merges_cors_rules(s3_endpoint, make_store):
    """The bucket's own CORS rules survive provision; byob's is added, then updated in place."""
    from byob_aws import documents

    theirs = {
        "ID": "customer-app",
        "AllowedHeaders": ["Authorization"],
        "AllowedMethods": ["GET", "POST"],
        "AllowedOrigins": ["https://app.example.com"],
        "MaxAgeSeconds": 60,
    }
    store = make_store(s3_endpoint, subpath="wandb")
    provision(store)
    s3 = client(store)
    s3.put_bucket_cors(Bucket=store.bucket, CORSConfiguration={"CORSRules": [theirs]})
    cors = provision(store, apply=False)["cors"]
    assert cors.action is Action.UPDATE and "keep the bucket's 1 other rule(s)" in cors.summary
    assert cors.desired["CORSRules"] == [theirs, *documents.cors_rules(3600)]
    provision(store)
    assert unordered(s3.get_bucket_cors(Bucket=store.bucket)["CORSRules"]) == unordered(
        [theirs, *documents.cors_rules(3600)]
    )
    assert provision(store, apply=False)["cors"].action is Action.NONE
    provision(store, cors_max_age=900)
    assert unordered(s3.get_bucket_cors(Bucket=store.bucket)["CORSRules"]) == unordered(
        [theirs, *documents.cors_rules(900)]
    )
    assert validate(store)["minio.cors"].status is Status.PASS
