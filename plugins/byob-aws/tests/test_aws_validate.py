"""Validation against a moto server: one finding per check, failures on drift, each with a hint."""

from __future__ import annotations

import json

from byob_aws import documents as docs
from byob_aws import plugin, s3
from byob_core.findings import Status
from byob_core.objects import Kind, ListRequest
from byob_core.provider import ProvisionContext, ValidateContext

PRINCIPAL = "arn:aws:iam::830241207209:role/WandbIntegration"
CHECKS = [
    "aws.credentials",
    "aws.bucket",
    "aws.region",
    "aws.versioning",
    "aws.encryption",
    "aws.public_access",
    "aws.ownership",
    "aws.cors",
    "aws.policy",
    "aws.lifecycle",
    "aws.presigned",
    "aws.preflight",
]


def validate(store, read_only=False, principal=PRINCIPAL):
    findings = list(
        plugin.byob_validate(
            store=store, context=ValidateContext(read_only=read_only, principal=principal)
        )
    )
    return {f.check: f for f in findings}, findings


def provisioned(store, **settings):
    plugin.byob_provision(
        store=store, context=ProvisionContext(apply=True, principal=PRINCIPAL, settings=settings)
    )
    return store


def statuses(found):
    return {check: f.status for check, f in found.items()}


class TestProvisionedBucket:
    def test_every_check_passes_in_order(self, store):
        found, findings = validate(provisioned(store))
        assert [f.check for f in findings] == CHECKS
        assert {c: s for c, s in statuses(found).items() if s is not Status.PASS} == {}

    def test_probe_objects_leave_no_trace(self, store):
        validate(provisioned(store))
        for kind in (Kind.OBJECTS, Kind.VERSIONS):
            assert (
                list(plugin.byob_list(store=store, request=ListRequest(kind=kind, prefix=""))) == []
            )

    def test_read_only_skips_the_signed_put(self, store):
        found, _ = validate(provisioned(store), read_only=True)
        assert found["aws.presigned"].status is Status.SKIP
        assert found["aws.preflight"].status is Status.PASS

    def test_read_only_validation_writes_nothing(self, store):
        provisioned(store)
        api = s3.client(store)
        before = api.list_object_versions(Bucket=store.bucket)
        validate(store, read_only=True)
        after = api.list_object_versions(Bucket=store.bucket)
        for field in ("Versions", "DeleteMarkers"):
            assert after.get(field, []) == before.get(field, []) == []
        assert api.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []

    def test_sse_s3_warns_unless_the_store_asks_for_it(self, store):
        import attrs

        provisioned(store, encryption="AES256")
        found, _ = validate(store)
        assert found["aws.encryption"].status is Status.WARN  # the store expects KMS
        assert found["aws.encryption"].hint
        found, _ = validate(attrs.evolve(store, options={"encryption": "AES256"}))
        assert found["aws.encryption"].status is Status.PASS


class TestDrift:
    def test_missing_bucket_fails_and_skips_the_rest(self, store):
        found, findings = validate(store)
        assert found["aws.bucket"].status is Status.FAIL
        assert "provision" in found["aws.bucket"].hint
        assert all(f.status is Status.SKIP for f in findings[2:])

    def test_each_drift_is_its_own_failure(self, store):
        provisioned(store)
        client = s3.client(store)
        client.put_bucket_versioning(
            Bucket=store.bucket, VersioningConfiguration={"Status": "Suspended"}
        )
        client.put_bucket_cors(
            Bucket=store.bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedMethods": ["GET", "HEAD", "PUT"],
                        "AllowedOrigins": ["https://only.example.com"],
                        "MaxAgeSeconds": 10,
                    }
                ]
            },
        )
        client.delete_public_access_block(Bucket=store.bucket)
        client.delete_bucket_lifecycle(Bucket=store.bucket)
        found, _ = validate(store)
        assert found["aws.versioning"].status is Status.FAIL
        assert found["aws.cors"].status is Status.FAIL
        assert "origin '*'" in found["aws.cors"].message
        assert "ETag" in found["aws.cors"].message
        assert found["aws.public_access"].status is Status.FAIL
        assert found["aws.lifecycle"].status is Status.WARN
        assert found["aws.preflight"].status is Status.FAIL
        assert found["aws.encryption"].status is Status.PASS
        for f in found.values():
            if f.status in (Status.FAIL, Status.WARN):
                assert f.hint, f.check

    def test_no_cors_fails_the_preflight(self, store):
        provisioned(store)
        s3.client(store).delete_bucket_cors(Bucket=store.bucket)
        found, _ = validate(store)
        assert found["aws.cors"].status is Status.FAIL
        assert found["aws.preflight"].status is Status.FAIL

    def test_a_region_mismatch_fails(self, store):
        import attrs

        provisioned(store)
        found, _ = validate(attrs.evolve(store, region="eu-west-1"))
        assert found["aws.region"].status is Status.FAIL
        assert found["aws.region"].details["bucket_region"] == "us-east-1"

    def test_a_configured_kms_key_must_be_the_one_in_use(self, store):
        import attrs

        provisioned(store)
        other = s3.client(store, "kms").create_key()["KeyMetadata"]["Arn"]
        found, _ = validate(attrs.evolve(store, kms_key_arn=other))
        assert found["aws.encryption"].status is Status.FAIL
        assert other in found["aws.encryption"].message


class TestPolicy:
    def put_policy(self, store, statements):
        s3.client(store).put_bucket_policy(
            Bucket=store.bucket,
            Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )

    def test_policy_is_parsed_not_string_matched(self, store):
        provisioned(store)
        arn = docs.bucket_arn(store.bucket)
        # Same grants, written differently: wildcards, one statement per resource, account form.
        self.put_policy(
            store,
            [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [PRINCIPAL]},
                    "Action": ["s3:List*", "s3:GetBucket*", "s3:GetEncryptionConfiguration"],
                    "Resource": arn,
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": PRINCIPAL},
                    "Action": ["s3:*Object", "s3:GetObject*", "s3:AbortMultipartUpload"],
                    "Resource": f"{arn}/*",
                },
            ],
        )
        found, _ = validate(store)
        assert found["aws.policy"].status is Status.PASS, found["aws.policy"].message

    def test_a_missing_action_fails_by_name(self, store):
        provisioned(store)
        grant = docs.grant_statement(store.bucket, PRINCIPAL)
        grant["Action"] = [a for a in grant["Action"] if a != "s3:ListBucketVersions"]
        self.put_policy(store, [grant])
        found, _ = validate(store)
        assert found["aws.policy"].status is Status.FAIL
        assert found["aws.policy"].details["missing"] == ["s3:ListBucketVersions"]

    def test_object_actions_on_the_bucket_arn_only_do_not_count(self, store):
        provisioned(store)
        grant = docs.grant_statement(store.bucket, PRINCIPAL)
        grant["Resource"] = docs.bucket_arn(store.bucket)
        self.put_policy(store, [grant])
        found, _ = validate(store)
        assert set(found["aws.policy"].details["missing"]) == {
            "s3:GetObject*",
            "s3:AbortMultipartUpload",
            "s3:DeleteObject",
            "s3:PutObject",
        }

    def test_another_principal_fails(self, store):
        provisioned(store)
        found, _ = validate(store, principal="arn:aws:iam::111122223333:root")
        assert found["aws.policy"].status is Status.FAIL

    def test_without_a_principal_it_is_skipped_with_the_reason(self, store):
        found, _ = validate(provisioned(store), principal=None)
        assert found["aws.policy"].status is Status.SKIP
        assert "principal" in found["aws.policy"].message


class TestUnsupportedApis:
    def test_a_missing_api_is_a_warning_not_a_crash(self, store):
        # An S3-compatible server answering NotImplemented is simulated on moto's client.
        from unittest import mock

        from botocore.exceptions import ClientError

        provisioned(store)
        refusal = ClientError(
            {"Error": {"Code": "NotImplemented", "Message": "no"}}, "GetBucketCors"
        )
        with mock.patch.object(s3.client(store), "get_bucket_cors", side_effect=refusal):
            found, _ = validate(store)
        assert found["aws.cors"].status is Status.WARN
        assert found["aws.cors"].hint
        assert found["aws.lifecycle"].status is Status.PASS


class TestSecrets:
    def test_findings_carry_no_secret(self, store):
        import json as json_

        _, findings = validate(provisioned(store))
        text = json_.dumps([f.to_dict() for f in findings], default=str)
        for secret in store.credentials.secret_values:
            assert secret not in text
        assert store.credentials.access_key not in text
