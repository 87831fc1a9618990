"""Garbage collection on a minio store through the core engine: objects, versions, uploads."""

from __future__ import annotations

import datetime as dt

from byob_aws.s3 import client
from byob_core.api import Byob
from byob_core.config import Config
from byob_core.gc import GcOptions
from byob_core.plugins import PluginHost


def test_collect_objects_noncurrent_versions_and_stale_uploads(s3_endpoint, make_store, tmp_path):
    store = make_store(s3_endpoint, subpath="team")
    byob = Byob(Config(instance=None, teams={"t": store}, data_dir=tmp_path), PluginHost.load())
    byob.provision("t")
    s3 = client(store)
    for name, bodies in (("live", [b"1", b"2"]), ("dead", [b"3", b"4"]), ("gone", [b"5"])):
        for body in bodies:
            s3.put_object(Bucket=store.bucket, Key=f"team/{name}", Body=body)
    s3.delete_object(Bucket=store.bucket, Key="team/gone")  # a delete marker over one version
    s3.put_object(Bucket=store.bucket, Key="outside/dead", Body=b"x")  # not the store's
    upload = s3.create_multipart_upload(Bucket=store.bucket, Key="team/stale.bin")["UploadId"]

    report = byob.gc(
        ["live"],
        team="t",
        options=GcOptions(
            grace=dt.timedelta(0), purge_versions=True, abort_uploads=True, journal=tmp_path / "j"
        ),
        # A minute on, so the delete marker this run leaves on team/dead is older than
        # the (zero) grace as well, whatever the server's timestamp resolution.
        now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
    )
    assert report.deleted == 1  # team/dead
    # dead's two versions and the marker the run left; gone's version and its marker.
    assert (report.versions_deleted, report.versions_kept) == (5, 3)
    assert report.uploads_aborted == 1
    listing = s3.list_object_versions(Bucket=store.bucket)
    assert listing.get("DeleteMarkers", []) == []  # no orphan marker left behind
    left = sorted((v["Key"], v["IsLatest"]) for v in listing.get("Versions", []))
    # dead's and gone's histories are purged; the live key keeps its whole history (the
    # engine never touches a live key), and nothing outside the sub-path is touched.
    assert left == [
        ("outside/dead", True),
        ("team/.byob/store.json", True),
        ("team/live", False),
        ("team/live", True),
    ]
    uploads = s3.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert upload not in [u["UploadId"] for u in uploads]
