"""Test helpers for S3-family plugins (byob-aws, byob-minio).

The moto S3 server and its fake credentials come from `byob_aws.localserver` (re-exported
here, so tests keep importing them from this module); the undo-window scenario is below.
No runtime module imports this one.
"""

from __future__ import annotations

import time
from typing import Any

from byob_aws.localserver import (
    ACCESS_KEY,
    FAKE_ENV,
    REGION,
    SECRET_KEY,
    free_port,
    moto_server,
    reset,
)

__all__ = [
    "ACCESS_KEY",
    "FAKE_ENV",
    "REGION",
    "SECRET_KEY",
    "free_port",
    "history",
    "moto_server",
    "reset",
    "undo_window_scenario",
]


# -- the undo window on a real versioned bucket ----------------------------------------------

History = dict[str, list[tuple[str, bool]]]


def history(store: Any) -> History:
    """Every version and delete marker in `store`'s bucket: key -> [(version id, is marker)]."""
    from byob_aws.s3 import client

    found: History = {}
    pages = client(store).get_paginator("list_object_versions").paginate(Bucket=store.bucket)
    for page in pages:
        for item in page.get("Versions", ()):
            found.setdefault(item["Key"], []).append((item["VersionId"], False))
        for item in page.get("DeleteMarkers", ()):
            found.setdefault(item["Key"], []).append((item["VersionId"], True))
    return {key: sorted(items) for key, items in sorted(found.items())}


def undo_window_scenario(store: Any) -> dict[str, Any]:
    """Write, collect, then purge versions twice in sub-path ``team`` of `store`'s bucket
    (versioning on), and return the bucket's `history` after each step with the reports.

    1. ``team/live/a`` (two versions), ``team/dead/x`` (two) and ``team/dead/y`` (one),
       then a 3 s wait, so that the versions are older than the grace used below;
    2. ``gc``: dead/* are not live, so they are deleted (delete markers, now);
    3. ``gc --purge-versions --grace 2s`` at once: the versions are older than the grace
       but their deletion is not, so every version of dead/* must still be there;
    4. the same an hour later (``now`` moved on): dead/* lose every version and marker.
    """
    import datetime as dt

    import attrs
    from byob_core.gc import GcOptions, collect
    from byob_core.plugins import PluginHost

    from byob_aws.s3 import client

    store = attrs.evolve(store, subpath="team")
    s3 = client(store)
    for key, bodies in (("live/a", 2), ("dead/x", 2), ("dead/y", 1)):
        for n in range(bodies):
            s3.put_object(Bucket=store.bucket, Key=f"team/{key}", Body=f"{key} {n}".encode())
    host = PluginHost.load()
    steps: dict[str, Any] = {"written": history(store)}
    time.sleep(3)
    steps["gc"] = collect(host, store, ["live/a"], GcOptions(grace="0s"))
    steps["deleted"] = history(store)
    purge = GcOptions(grace="2s", purge_versions=True)
    steps["purge_soon"] = collect(host, store, ["live/a"], purge)
    steps["after_purge_soon"] = history(store)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    steps["purge_later"] = collect(host, store, ["live/a"], purge, now=later)
    steps["after_purge_later"] = history(store)
    return steps
