"""The undo window against Ceph RGW, which keeps honest version history (moto's is not).

Same scenario and checks as byob-aws's moto test: a purge right after a gc keeps the
deleted keys' versions; an hour later it removes them and their delete markers.
"""

from __future__ import annotations

import uuid

import attrs
from byob_aws.provision import desired_lifecycle
from byob_aws.s3 import client
from byob_aws.testing import undo_window_scenario
from byob_core.stores import Credentials, Store


def rgw_versioned_store(rgw) -> Store:
    store = Store(
        provider="minio",
        bucket=f"byob-rgw-{uuid.uuid4().hex[:12]}",
        endpoint=rgw.host,
        tls=False,
        path_style=True,
        region=rgw.region,
        credentials=Credentials(access_key=rgw.access_key, secret_key=rgw.secret_key),
    )
    s3 = client(store)
    s3.create_bucket(Bucket=store.bucket)
    s3.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    return store


class TestUndoWindowOnRgw:
    def test_a_purge_keeps_fresh_deletions_and_then_removes_them_whole(self, rgw):
        steps = undo_window_scenario(rgw_versioned_store(rgw))
        assert steps["gc"].deleted == 2
        written, deleted = steps["written"], steps["deleted"]
        for key in ("team/dead/x", "team/dead/y"):
            [marker] = [v for v, is_marker in deleted[key] if is_marker]
            assert sorted(deleted[key]) == sorted([*written[key], (marker, True)])
        assert steps["purge_soon"].versions_deleted == 0
        assert steps["after_purge_soon"] == deleted
        after = steps["after_purge_later"]
        assert "team/dead/x" not in after and "team/dead/y" not in after
        assert after["team/live/a"] == written["team/live/a"]
        report = steps["purge_later"]
        assert (report.versions_deleted, report.error_count) == (5, 0)  # 3 versions, 2 markers


class TestLifecycleOnRgw:
    def test_rgw_accepts_byobs_rule_that_expires_orphan_delete_markers(self, rgw):
        store = rgw_versioned_store(rgw)
        rule = desired_lifecycle(attrs.evolve(store, subpath="team"), {})
        s3 = client(store)
        s3.put_bucket_lifecycle_configuration(
            Bucket=store.bucket, LifecycleConfiguration={"Rules": [rule]}
        )
        [back] = s3.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
        assert back["Expiration"] == {"ExpiredObjectDeleteMarker": True}
        assert back["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
