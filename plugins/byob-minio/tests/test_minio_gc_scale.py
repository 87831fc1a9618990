"""Sharded garbage collection on S3 servers, moto and Ceph RGW: the local and the Dask
executor reach the end state of one unsharded run, and never touch a live key or a key
outside the sub-path."""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from pathlib import Path

import pytest
from byob_aws.s3 import client
from byob_core import gcscale
from byob_core.gc import GcOptions
from byob_core.plugins import PluginHost
from byob_core.stores import Credentials, Store

KEYS = [f"runs/{i % 5}/part-{i:04d}.bin" for i in range(120)]
LIVE = set(KEYS[::3])


@pytest.fixture(scope="module")
def dask_scheduler():
    import distributed  # byob-core[dask], installed by setup.sh

    # Workers import the fault-injecting hosts of core/tests/gc_hosts.py by name.
    hosts = str(Path(__file__).resolve().parents[3] / "core" / "tests")
    if hosts not in sys.path:
        sys.path.insert(0, hosts)

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture(params=["moto", "rgw"])
def server(request, moto_endpoint, make_store):
    """A function making a fresh store (with its bucket) on moto or on Ceph RGW."""
    if request.param == "moto":

        def fresh() -> Store:
            return make_store(moto_endpoint, subpath="team")

    else:
        rgw = request.getfixturevalue("rgw")

        def fresh() -> Store:
            return Store(
                provider="minio",
                bucket=f"byob-rgw-{uuid.uuid4().hex[:12]}",
                endpoint=rgw.host,
                tls=False,
                path_style=True,
                region=rgw.region,
                subpath="team",
                credentials=Credentials(access_key=rgw.access_key, secret_key=rgw.secret_key),
            )

    return fresh


def filled(fresh) -> Store:
    store = fresh()
    s3 = client(store)
    s3.create_bucket(Bucket=store.bucket)
    for key in KEYS:
        s3.put_object(Bucket=store.bucket, Key=f"team/{key}", Body=key.encode())
    s3.put_object(Bucket=store.bucket, Key="outside/runs/0/part-0001.bin", Body=b"not ours")
    return store


def left(store: Store) -> set[str]:
    s3 = client(store)
    found: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
        found.update(item["Key"] for item in page.get("Contents", []))
    return found


def run(store: Store, tmp_path, execution: gcscale.Execution | None) -> object:
    options = GcOptions(grace=dt.timedelta(0), journal=tmp_path / f"{uuid.uuid4().hex}.json")
    # A minute on: every object is older than the (zero) grace, whatever the clock skew.
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    return gcscale.collect(PluginHost.load(), store, LIVE, options, execution, now=now)


def test_sharded_runs_reach_the_unsharded_end_state(server, dask_scheduler, tmp_path):
    expected = {f"team/{k}" for k in LIVE} | {"outside/runs/0/part-0001.bin"}
    baseline = filled(server)
    report = run(baseline, tmp_path, None)
    assert left(baseline) == expected and report.deleted == len(KEYS) - len(LIVE)

    local = filled(server)
    report = run(local, tmp_path, gcscale.Execution(shards=5))
    assert left(local) == expected
    assert (report.executor, report.shards, report.deleted) == ("local", 5, 80)

    dask = filled(server)
    execution = gcscale.Execution(executor="dask", scheduler=dask_scheduler, shards=6)
    report = run(dask, tmp_path, execution)
    assert left(dask) == expected
    assert (report.executor, report.shards) == ("dask", 6)
    assert sum(s["deleted"] for s in report.per_shard) == report.deleted == 80
    assert report.ok and report.live_missing == 0


def test_a_worker_killed_mid_shard_loses_nothing(server, dask_scheduler, tmp_path):
    import attrs

    store = filled(server)
    garbage = sorted(f"team/{k}" for k in set(KEYS) - LIVE)
    victim = garbage[len(garbage) // 2]
    faulty = attrs.evolve(
        store, options={"fault": "exit", "on_key": victim, "once_flag": str(tmp_path / "fired")}
    )
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "core" / "tests"))
    import gc_hosts

    execution = gcscale.Execution(
        executor="dask", scheduler=dask_scheduler, shards=3, host_factory=gc_hosts.faulty_host
    )
    options = GcOptions(grace=dt.timedelta(0), batch_size=7, journal=tmp_path / "gc.json")
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    report = gcscale.collect(PluginHost.load(), faulty, LIVE, options, execution, now=now)
    assert (tmp_path / "fired").exists()  # a worker died holding a delete batch
    assert report.ok, report.errors
    assert left(store) == {f"team/{k}" for k in LIVE} | {"outside/runs/0/part-0001.bin"}
