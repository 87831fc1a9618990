"""Provisioning against a moto server: the plan shows every document, apply, idempotence."""

from __future__ import annotations

import json

import attrs
import pytest
from byob_aws import documents as docs
from byob_aws import plugin, s3
from byob_core.plans import Action
from byob_core.provider import ProvisionContext

PRINCIPAL = "arn:aws:iam::830241207209:root"


def by_name(plan):
    return {c.name: c for c in plan.changes}


def provision(store, apply, **settings):
    principal = settings.pop("principal", PRINCIPAL)
    return plugin.byob_provision(
        store=store, context=ProvisionContext(apply=apply, principal=principal, settings=settings)
    )


class TestPlan:
    def test_plan_of_a_new_bucket_changes_nothing_and_shows_documents(self, store):
        plan = provision(store, apply=False)
        changes = by_name(plan)
        assert set(changes) == {
            "kms-key",
            "bucket",
            "versioning",
            "encryption",
            "public-access-block",
            "ownership-controls",
            "cors",
            "bucket-policy",
            "lifecycle",
        }
        assert all(c.action is Action.CREATE and not c.applied for c in plan.changes)
        assert changes["cors"].documents["cors"] == {"CORSRules": docs.cors_rules(3600)}
        policy = changes["bucket-policy"].documents["bucket_policy"]
        (grant,) = policy["Statement"]
        assert grant["Principal"] == {"AWS": PRINCIPAL}
        assert sorted(grant["Action"]) == sorted(docs.BUCKET_ACTIONS) and len(grant["Action"]) == 11
        key_policy = changes["kms-key"].documents["key_policy"]
        assert [s["Sid"] for s in key_policy["Statement"]] == ["Internal", "External"]
        json.dumps(plan.to_dict())  # every document is JSON
        with pytest.raises(Exception, match=r"NoSuchBucket|Not Found|404"):
            s3.client(store).head_bucket(Bucket=store.bucket)


class TestApply:
    def test_provision_then_nothing_left_to_do(self, store):
        first = provision(store, apply=True, noncurrent_days=14, cors_max_age=3000)
        assert all(c.applied for c in first.changes if c.action in (Action.CREATE, Action.UPDATE))
        assert not [c for c in first.changes if c.action is Action.MANUAL]
        second = provision(store, apply=False, noncurrent_days=14, cors_max_age=3000)
        assert not second.has_changes, [
            c.to_dict() for c in second.changes if c.action is not Action.NONE
        ]

        client = s3.client(store)
        assert client.get_bucket_versioning(Bucket=store.bucket)["Status"] == "Enabled"
        rule = client.get_bucket_encryption(Bucket=store.bucket)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        key = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        kms = s3.client(store, "kms")
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyUsage"] == "ENCRYPT_DECRYPT"
        (cors,) = client.get_bucket_cors(Bucket=store.bucket)["CORSRules"]
        assert cors["MaxAgeSeconds"] == 3000 and cors["ExposeHeaders"] == ["ETag"]
        policy = json.loads(client.get_bucket_policy(Bucket=store.bucket)["Policy"])
        assert docs.missing_grants(policy, store.bucket, PRINCIPAL) == []
        rules = client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
        assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 14
        assert rules[0]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
        assert rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
        pab = client.get_public_access_block(Bucket=store.bucket)["PublicAccessBlockConfiguration"]
        assert all(pab.values())

    def test_a_lifecycle_rule_that_leaves_orphan_delete_markers_is_updated(self, store):
        """A byob rule provisioned before it expired delete markers (or edited since):
        the plan updates it, and says so."""
        provision(store, apply=True)
        client = s3.client(store)
        [rule] = client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
        rule.pop("Expiration")
        client.put_bucket_lifecycle_configuration(
            Bucket=store.bucket, LifecycleConfiguration={"Rules": [rule]}
        )
        plan = by_name(provision(store, apply=False))
        assert plan["lifecycle"].action is Action.UPDATE
        assert "remove delete markers that cover no version" in plan["lifecycle"].summary
        provision(store, apply=True)
        [rule] = client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
        assert rule["Expiration"] == {"ExpiredObjectDeleteMarker": True}

    def test_a_drifted_setting_is_updated(self, store):
        provision(store, apply=True)
        s3.client(store).put_bucket_cors(
            Bucket=store.bucket,
            CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
        )
        s3.client(store).put_bucket_versioning(
            Bucket=store.bucket, VersioningConfiguration={"Status": "Suspended"}
        )
        plan = by_name(provision(store, apply=False))
        assert plan["cors"].action is Action.UPDATE
        assert "does not allow HEAD, PUT" in plan["cors"].summary
        assert plan["versioning"].action is Action.UPDATE
        assert plan["versioning"].current == {"Status": "Suspended"}
        assert plan["bucket"].action is Action.NONE
        provision(store, apply=True)
        assert not provision(store, apply=False).has_changes

    def test_aes256_and_deny_insecure_transport(self, store):
        provision(store, apply=True, encryption="AES256", deny_insecure_transport=True)
        client = s3.client(store)
        rule = client.get_bucket_encryption(Bucket=store.bucket)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        policy = json.loads(client.get_bucket_policy(Bucket=store.bucket)["Policy"])
        assert {s["Sid"] for s in policy["Statement"]} == {docs.GRANT_SID, docs.DENY_TLS_SID}
        again = provision(store, apply=False, encryption="AES256", deny_insecure_transport=True)
        assert not again.has_changes
        assert by_name(again)["kms-key"].action is Action.NONE

    def test_other_policy_statements_are_kept(self, store):
        provision(store, apply=True)
        client = s3.client(store)
        policy = json.loads(client.get_bucket_policy(Bucket=store.bucket)["Policy"])
        other = {
            "Sid": "Theirs",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{store.bucket}/*",
        }
        policy["Statement"].append(other)
        client.put_bucket_policy(Bucket=store.bucket, Policy=json.dumps(policy))
        assert not provision(store, apply=False).has_changes
        provision(store, apply=True, deny_insecure_transport=True)
        sids = [
            s["Sid"]
            for s in json.loads(client.get_bucket_policy(Bucket=store.bucket)["Policy"])[
                "Statement"
            ]
        ]
        assert sorted(sids) == sorted(["Theirs", docs.GRANT_SID, docs.DENY_TLS_SID])

    def test_without_a_principal_the_grant_is_manual(self, store):
        plan = provision(store, apply=True, principal=None)
        changes = by_name(plan)
        assert changes["platform-grant"].action is Action.MANUAL
        assert changes["bucket-policy"].action is Action.NONE
        assert not provision(store, apply=False, principal=None).has_changes

    def test_a_bucket_in_another_region_is_manual(self, store):
        provision(store, apply=True, encryption="AES256")
        moved = attrs.evolve(store, region="eu-west-1")
        plan = by_name(provision(moved, apply=False, encryption="AES256"))
        assert plan["bucket"].action is Action.MANUAL
        assert "us-east-1" in plan["bucket"].summary

    def test_plan_output_carries_no_secret(self, store):
        text = json.dumps(provision(store, apply=True).to_dict())
        for secret in store.credentials.secret_values:
            assert secret not in text


class TestConfiguredKey:
    def test_a_configured_key_gets_the_key_policy_and_is_used(self, store):
        kms = s3.client(store, "kms")
        arn = kms.create_key(KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["Arn"]
        keyed = attrs.evolve(store, kms_key_arn=arn)
        plan = by_name(provision(keyed, apply=False))
        assert plan["kms-key"].action is Action.UPDATE
        assert plan["encryption"].desired["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": arn,
        }
        provision(keyed, apply=True)
        assert not provision(keyed, apply=False).has_changes
        policy = json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
        external = next(s for s in policy["Statement"] if s.get("Sid") == "External")
        assert external["Principal"] == {"AWS": PRINCIPAL}
        assert sorted(external["Action"]) == sorted(docs.KMS_EXTERNAL_ACTIONS)

    def test_a_missing_configured_key_is_manual(self, store):
        arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        plan = by_name(provision(attrs.evolve(store, kms_key_arn=arn), apply=False))
        assert plan["kms-key"].action is Action.MANUAL


class TestUnsupportedApis:
    def test_a_server_without_cors_gets_a_manual_change_not_a_crash(self, store):
        # moto has every API; an S3-compatible server answering NotImplemented is simulated.
        from unittest import mock

        from botocore.exceptions import ClientError

        provision(store, apply=True)
        client = s3.client(store)
        refusal = ClientError(
            {
                "Error": {
                    "Code": "NotImplemented",
                    "Message": "A header you provided implies functionality that is not implemented",
                }
            },
            "GetBucketCors",
        )
        with mock.patch.object(client, "get_bucket_cors", side_effect=refusal):
            plan = by_name(provision(store, apply=True))
        assert plan["cors"].action is Action.MANUAL
        assert "does not support" in plan["cors"].summary
        assert plan["lifecycle"].action is Action.NONE  # the steps after it still ran

    def test_a_refused_write_is_a_manual_change_with_its_document(self, store):
        from unittest import mock

        from botocore.exceptions import ClientError

        provision(store, apply=True)
        client = s3.client(store)
        client.delete_bucket_cors(Bucket=store.bucket)
        denied = ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutBucketCors"
        )
        with mock.patch.object(client, "put_bucket_cors", side_effect=denied):
            cors = by_name(provision(store, apply=True))["cors"]
        assert cors.action is Action.MANUAL and not cors.applied
        assert "not allowed for these credentials" in cors.summary
        assert cors.documents["cors"] == {"CORSRules": docs.cors_rules(3600)}
        assert any("put-bucket-cors" in step for step in cors.steps)
        # Nothing was written: the next plan still wants the rules.
        assert by_name(provision(store, apply=False))["cors"].action is Action.CREATE


class TestCorsMerge:
    """PUT ?cors replaces the whole configuration: provision keeps the bucket's own rules."""

    THEIRS = {
        "ID": "customer-app",
        "AllowedHeaders": ["Authorization"],
        "AllowedMethods": ["GET", "POST"],
        "AllowedOrigins": ["https://app.example.com"],
        "MaxAgeSeconds": 60,
    }

    def test_foreign_rules_are_kept_and_byobs_is_added_then_updated(self, store):
        provision(store, apply=True)
        client = s3.client(store)
        client.put_bucket_cors(Bucket=store.bucket, CORSConfiguration={"CORSRules": [self.THEIRS]})
        cors = by_name(provision(store, apply=False))["cors"]
        assert cors.action is Action.UPDATE
        assert "keep the bucket's 1 other rule(s)" in cors.summary
        assert cors.documents["cors"]["CORSRules"] == [self.THEIRS, *docs.cors_rules(3600)]
        provision(store, apply=True)
        assert client.get_bucket_cors(Bucket=store.bucket)["CORSRules"] == [
            self.THEIRS,
            *docs.cors_rules(3600),
        ]
        assert by_name(provision(store, apply=False))["cors"].action is Action.NONE
        # Another max age updates byob's rule only.
        cors = by_name(provision(store, apply=True, cors_max_age=600))["cors"]
        assert cors.applied and "update byob's rule" in cors.summary
        assert client.get_bucket_cors(Bucket=store.bucket)["CORSRules"] == [
            self.THEIRS,
            *docs.cors_rules(600),
        ]
