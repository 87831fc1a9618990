"""The undo window on a versioned S3 bucket (moto): a purge keeps fresh deletions.

The same scenario runs against Ceph RGW in byob-minio's tests.
"""

from __future__ import annotations

from byob_aws.testing import undo_window_scenario


def check_undo_window(steps: dict) -> None:
    """What `undo_window_scenario` must show on any S3 server that keeps versions."""
    assert steps["gc"].deleted == 2
    written, deleted = steps["written"], steps["deleted"]
    # The reported bug: seconds after gc deleted dead/*, a purge with a short grace
    # deleted their noncurrent versions (the young delete markers were not listed).
    for key in ("team/dead/x", "team/dead/y"):
        [marker] = [v for v, is_marker in deleted[key] if is_marker]
        assert sorted(deleted[key]) == sorted([*written[key], (marker, True)])
    assert steps["purge_soon"].versions_deleted == 0
    assert steps["after_purge_soon"] == deleted
    # Once the deletion is older than the grace, versions and the delete markers that
    # covered them all go (no orphan markers); the live key keeps its whole history.
    after = steps["after_purge_later"]
    assert "team/dead/x" not in after and "team/dead/y" not in after
    assert after["team/live/a"] == written["team/live/a"]
    report = steps["purge_later"]
    assert (report.versions_deleted, report.error_count) == (5, 0)  # 3 versions, 2 markers


class TestUndoWindow:
    def test_a_purge_keeps_fresh_deletions_and_then_removes_them_whole(self, bucket_store):
        check_undo_window(undo_window_scenario(bucket_store))
