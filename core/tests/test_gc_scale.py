"""Sharded garbage collection (`byob_core.gcscale`), streamed live sets and inventories,
on the built-in file store: the local and the Dask executor reach the same end state as
one unsharded run, and keep every live, young and reserved object."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from byob_core import gc, gcscale, livesets
from byob_core.gc import GcInputError, GcOptions, Shard, load_live_keys
from byob_core.plugins import PluginHost
from byob_core.stores import Store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = dt.datetime.now(dt.UTC)
OLD = NOW - dt.timedelta(days=3)
YOUNG = NOW - dt.timedelta(minutes=5)


def make_store(root: Path, count: int = 60) -> tuple[Store, set[str], set[str], set[str]]:
    """A file store of `count` objects: every third live, every fifth (not live) young."""
    store = Store(provider="file", bucket=str(root), subpath="team/sub")
    base = root / "team" / "sub"
    live, young, garbage = set(), set(), set()
    for i in range(count):
        key = f"runs/{i % 7}/obj-{i:04d}.bin"
        path = base / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (i + 1))
        stamp = OLD
        if i % 3 == 0:
            live.add(key)
        elif i % 5 == 0:
            young.add(key)
            stamp = YOUNG
        else:
            garbage.add(key)
        os.utime(path, (stamp.timestamp(), stamp.timestamp()))
    marker = base / ".byob" / "store.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("{}")
    os.utime(marker, (OLD.timestamp(), OLD.timestamp()))
    return store, live, young, garbage


def remaining(root: Path) -> set[str]:
    base = root / "team" / "sub"
    return {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}


def run_gc_cli(tmp_path: Path, *argv: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``python -m byob_core gc`` on the file store of `make_store(tmp_path / "s")`."""
    config = tmp_path / "byob.toml"
    config.write_text(
        f'[instance]\nprovider = "file"\nbucket = "{tmp_path / "s"}"\nsubpath = "team/sub"\n'
    )
    return subprocess.run(
        [sys.executable, "-m", "byob_core", "gc", "--config", str(config), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "BYOB_DATA_DIR": str(tmp_path / "data")},
    )


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost.load()


def options(tmp_path: Path, **kw: object) -> GcOptions:
    return GcOptions(grace="24h", journal=tmp_path / "journal" / "gc.json", **kw)


# -- planning ------------------------------------------------------------------------------


class TestPlanShards:
    def test_bounds_are_live_quantiles_and_cover_everything(self) -> None:
        live = load_live_keys([f"k{i:03d}" for i in range(100)])
        shards = gcscale.plan_shards(live, 4)
        assert [s.index for s in shards] == [0, 1, 2, 3]
        assert shards[0].after is None and shards[-1].upto is None
        assert [s.upto for s in shards[:-1]] == ["k024", "k049", "k074"]
        for left, right in itertools.pairwise(shards):
            assert left.upto == right.after

    def test_fewer_shards_than_live_keys_and_one_for_empty(self) -> None:
        assert gcscale.plan_shards(load_live_keys(["a", "b"]), 16)[-1].count == 2
        assert gcscale.plan_shards(load_live_keys([]), 8) == [gc.WHOLE]

    @settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(
        live=st.sets(st.text("abc", min_size=1, max_size=5), max_size=40),
        probes=st.lists(st.text("ab/c", min_size=1, max_size=6), max_size=40),
        count=st.integers(1, 9),
    )
    def test_every_key_is_in_exactly_one_shard(
        self, live: set[str], probes: list[str], count: int
    ) -> None:
        shards = gcscale.plan_shards(load_live_keys(sorted(live)), count)
        for key in [*live, *probes]:
            assert sum(1 for s in shards if s.contains(key)) == 1


class TestExecution:
    def test_cli_flags_pick_the_executor(self) -> None:
        assert gcscale.Execution.from_args().executor == "local"
        dask = gcscale.Execution.from_args(workers=2)
        assert (dask.executor, dask.shards) == ("dask", "auto")
        assert dask.shard_count(2) == 8

    def test_bad_values_are_input_errors(self) -> None:
        with pytest.raises(GcInputError, match="exclude each other"):
            gcscale.Execution.from_args(workers=2, scheduler="tcp://x:1")
        with pytest.raises(GcInputError, match="--shards"):
            gcscale.Execution(shards=0)


# -- the local executor -------------------------------------------------------------------


class TestLocalShards:
    @pytest.mark.parametrize("shards", [1, 2, 3, 7])
    def test_same_end_state_as_one_run(self, tmp_path: Path, host: PluginHost, shards: int) -> None:
        store, live, young, garbage = make_store(tmp_path / "s")
        report = gcscale.collect(
            host, store, live, options(tmp_path), gcscale.Execution(shards=shards)
        )
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}
        assert report.deleted == len(garbage)
        assert report.kept_live == len(live) and report.kept_young == len(young)
        assert report.shards == len(report.per_shard) == min(shards, len(live))
        assert sum(s["deleted"] for s in report.per_shard) == len(garbage)
        assert report.executor == "local" and report.ok
        assert report.live_missing == 0
        assert not list((tmp_path / "journal").glob("*.json"))  # finished: no journal left

    def test_dry_run_names_what_a_real_run_deletes(self, tmp_path: Path, host: PluginHost) -> None:
        store, live, _, garbage = make_store(tmp_path / "s")
        report = gcscale.collect(
            host, store, live, options(tmp_path, dry_run=True), gcscale.Execution(shards=3)
        )
        assert {k.split("team/sub/", 1)[1] for k in report.would_delete} == garbage
        assert len(remaining(tmp_path / "s")) == 61

    def test_a_killed_run_resumes_per_shard(self, tmp_path: Path, host: PluginHost) -> None:
        store, live, young, garbage = make_store(tmp_path / "s", count=90)

        class Killed(BaseException):
            pass

        calls = {"n": 0}

        class Dying:
            """The host, killed on the fifth delete call (inside the second shard)."""

            def __getattr__(self, name: str) -> object:
                return getattr(host, name)

            def garbage_collect(self, store, batch):  # type: ignore[no-untyped-def]
                calls["n"] += 1
                if calls["n"] == 5:
                    raise Killed
                return host.garbage_collect(store, batch)

        opts = options(tmp_path, batch_size=5)
        plan = gcscale.Execution(shards=3)
        with pytest.raises(Killed):
            gcscale.collect(Dying(), store, live, opts, plan)  # type: ignore[arg-type]
        journals = sorted(p.name for p in (tmp_path / "journal").glob("*.json"))
        assert "gc.shards.json" in journals  # the run journal: shard 0 finished
        assert any(".shard-00001-of-00003" in n for n in journals)
        done = json.loads((tmp_path / "journal" / "gc.shards.json").read_text())["done"]
        assert list(done) == ["0"]
        report = gcscale.collect(host, store, live, opts, plan)
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}
        assert report.resumed and report.ok
        assert report.deleted == len(garbage)  # counters carried over, none twice
        assert not list((tmp_path / "journal").glob("*.json"))

    def test_a_failing_shard_is_reported_and_the_rest_finish(
        self, tmp_path: Path, host: PluginHost
    ) -> None:
        store, live, young, _garbage = make_store(tmp_path / "s", count=90)

        class Flaky:
            def __init__(self) -> None:
                self.fail = True

            def __getattr__(self, name: str) -> object:
                return getattr(host, name)

            def list(self, store, request):  # type: ignore[no-untyped-def]
                if request.start_after is not None and self.fail:
                    self.fail = False
                    raise OSError("connection reset by the store")
                return host.list(store, request)

        opts = options(tmp_path)
        report = gcscale.collect(
            Flaky(),  # type: ignore[arg-type]
            store,
            live,
            opts,
            gcscale.Execution(shards=3),
        )
        assert not report.ok
        states = [s["state"] for s in report.per_shard]
        assert states == ["done", "failed", "done"]
        assert "connection reset" in report.per_shard[1]["error"]
        assert any(key == "<shard 1>" for key, _ in report.errors)
        report = gcscale.collect(host, store, live, opts, gcscale.Execution(shards=3))
        assert report.ok and remaining(tmp_path / "s") == live | young | {".byob/store.json"}

    def test_one_cutoff_for_every_shard(self, tmp_path: Path, host: PluginHost) -> None:
        store, live, _, _ = make_store(tmp_path / "s")
        report = gcscale.collect(
            host,
            store,
            live,
            options(tmp_path, dry_run=True),
            gcscale.Execution(shards=4),
            now=NOW,
        )
        assert report.cutoff == NOW - dt.timedelta(hours=24)


# -- streamed live sets -------------------------------------------------------------------


class TestStreamedLiveSet:
    def write(self, path: Path, keys: list[str]) -> Path:
        path.write_text("".join(f"{k}\n" for k in keys), encoding="utf-8")
        return path

    def test_merge_join_keeps_exactly_the_live_keys(self, tmp_path: Path, host: PluginHost) -> None:
        store, live, young, garbage = make_store(tmp_path / "s", count=300)
        source = livesets.load_sorted(self.write(tmp_path / "live.txt", sorted(live)))
        assert len(source) == len(live)
        report = gcscale.collect(
            host, store, source, options(tmp_path), gcscale.Execution(shards=3)
        )
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}
        assert report.deleted == len(garbage)

    def test_parquet_and_glob(self, tmp_path: Path, host: PluginHost) -> None:
        import pyarrow as pa  # byob-core[inventory], installed by setup.sh
        import pyarrow.parquet as pq

        store, live, young, _ = make_store(tmp_path / "s", count=120)
        ordered = sorted(live)
        half = len(ordered) // 2
        pq.write_table(pa.table({"key": ordered[:half]}), tmp_path / "part-0.parquet")
        self.write(tmp_path / "part-1.txt", ordered[half:])
        source = livesets.open_live(str(tmp_path / "part-*"))
        assert isinstance(source, livesets.StreamedLiveSet) and len(source) == len(live)
        gcscale.collect(host, store, source, options(tmp_path), gcscale.Execution(shards=2))
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}

    def test_unsorted_or_truncated_files_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(GcInputError, match="not sorted"):
            livesets.load_sorted(self.write(tmp_path / "a.txt", ["runs/b", "runs/a"]))
        (tmp_path / "b.txt").write_text("runs/a\nruns/b", encoding="utf-8")
        with pytest.raises(GcInputError, match="newline"):
            livesets.load_sorted(tmp_path / "b.txt")
        with pytest.raises(GcInputError, match="no live-key file matches"):
            livesets.open_live(str(tmp_path / "none-*.txt"))

    def test_window_memory_is_bounded_by_the_gap_not_the_set(self, tmp_path: Path) -> None:
        keys = [f"k{i:06d}" for i in range(20_000)]
        source = livesets.load_sorted(self.write(tmp_path / "live.txt", keys))
        window = source.membership(None, None)
        assert isinstance(window, livesets.Window)
        largest = 0
        for i in range(0, 20_000, 3):
            assert (f"k{i:06d}" in window) is True
            assert (f"k{i:06d}x" in window) is False
            window.trim(f"k{i:06d}")
            largest = max(largest, window.held)
        assert largest < 10

    def test_a_shard_seeks_to_its_start(self, tmp_path: Path) -> None:
        keys = [f"k{i:07d}" for i in range(200_000)]  # ~1.8 MB: the search is used
        source = livesets.load_sorted(self.write(tmp_path / "live.txt", keys))
        assert next(source.sorted_keys("k0150000")) == "k0150001"
        assert source.count_in("k0100000", "k0100010") == 10


# -- the Dask executor ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    import distributed  # byob-core[dask], installed by setup.sh

    # Workers import `gc_hosts` (the fault-injecting hosts) by name; spawned processes
    # inherit sys.path.
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    client = distributed.Client(cluster)
    yield cluster.scheduler_address
    client.close()
    cluster.close()


def faulty_host_factory():  # type: ignore[no-untyped-def]
    import gc_hosts  # on sys.path: see the dask_client fixture

    return gc_hosts.faulty_host


class TestDask:
    def test_same_end_state_as_local(
        self, tmp_path: Path, host: PluginHost, dask_client: str
    ) -> None:
        store, live, young, garbage = make_store(tmp_path / "s", count=120)
        execution = gcscale.Execution(executor="dask", scheduler=dask_client, shards=4)
        report = gcscale.collect(host, store, live, options(tmp_path), execution)
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}
        assert (report.executor, report.shards) == ("dask", 4)
        assert report.deleted == len(garbage) == sum(s["deleted"] for s in report.per_shard)
        assert all(s["state"] == "done" for s in report.per_shard)

    def test_cli_with_a_scheduler_and_json_progress(self, tmp_path: Path, dask_client: str) -> None:
        _store, live, young, garbage = make_store(tmp_path / "s", count=90)
        (tmp_path / "live.txt").write_text("".join(f"{k}\n" for k in sorted(live)))
        result = run_gc_cli(
            tmp_path,
            "--live",
            str(tmp_path / "live.txt"),
            "--scheduler",
            dask_client,
            "--shards",
            "3",
            "--progress",
            "json",
            "--json",
        )
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert (data["executor"], data["shards"], data["deleted"]) == ("dask", 3, len(garbage))
        assert [s["state"] for s in data["per_shard"]] == ["done"] * 3
        lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
        assert lines and lines[-1]["phase"] == "done" and lines[-1]["deleted"] == len(garbage)
        assert {"listed", "candidates", "deleted", "bytes", "rate", "eta_seconds"} <= set(lines[-1])
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}

    def test_a_failing_shard_is_reported_and_the_next_run_finishes(
        self, tmp_path: Path, host: PluginHost, dask_client: str
    ) -> None:
        import attrs

        store, live, young, garbage = make_store(tmp_path / "s", count=120)
        victim = sorted(garbage)[len(garbage) // 2]
        faulty = attrs.evolve(store, options={"fault": "raise", "on_key": victim})
        execution = gcscale.Execution(
            executor="dask", scheduler=dask_client, shards=4, host_factory=faulty_host_factory()
        )
        report = gcscale.collect(host, faulty, live, options(tmp_path), execution)
        assert not report.ok
        failed = [s for s in report.per_shard if s["state"] == "failed"]
        assert len(failed) == 1 and "injected fault" in failed[0]["error"]
        assert (tmp_path / "s" / "team" / "sub" / victim).exists()
        assert live | young <= remaining(tmp_path / "s")
        again = gcscale.collect(
            host, store, live, options(tmp_path), attrs.evolve(execution, host_factory=None)
        )
        assert again.ok and again.resumed
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}
        assert again.deleted == len(garbage)

    def test_a_killed_worker_s_shard_resumes_on_another(
        self, tmp_path: Path, host: PluginHost, dask_client: str
    ) -> None:
        import attrs

        store, live, young, garbage = make_store(tmp_path / "s", count=150)
        victim = sorted(garbage)[len(garbage) // 3]
        faulty = attrs.evolve(
            store,
            options={"fault": "exit", "on_key": victim, "once_flag": str(tmp_path / "fired")},
        )
        execution = gcscale.Execution(
            executor="dask", scheduler=dask_client, shards=3, host_factory=faulty_host_factory()
        )
        report = gcscale.collect(host, faulty, live, options(tmp_path, batch_size=4), execution)
        assert (tmp_path / "fired").exists()  # a worker process did die mid-shard
        assert report.ok, report.errors
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}
        assert report.deleted == len(garbage)

    def test_unreachable_scheduler_is_exit_2_and_nothing_deleted(self, tmp_path: Path) -> None:
        make_store(tmp_path / "s", count=30)
        (tmp_path / "live.txt").write_text("runs/0/obj-0000.bin\n")
        result = run_gc_cli(
            tmp_path,
            "--live",
            str(tmp_path / "live.txt"),
            "--scheduler",
            "tcp://127.0.0.1:9",
            timeout=120,
        )
        assert result.returncode == 2, result.stderr
        assert "Dask scheduler" in result.stderr and "Traceback" not in result.stderr
        assert len(remaining(tmp_path / "s")) == 31


def test_shard_journal_names() -> None:
    base = Path("/j/gc.json")
    assert Shard(index=2, count=16).journal(base).name == "gc.shard-00002-of-00016.json"
    assert gc.WHOLE.journal(base) == base


# -- inventories --------------------------------------------------------------------------


def _s3_csv_inventory(root: Path, store: Store, rows: list[tuple[str, int, dt.datetime]]) -> Path:
    """An S3 Inventory run laid out as in the destination bucket: manifest + gzip CSV."""
    import gzip
    import urllib.parse

    config = root / "dest" / "src-bucket" / "cfg"
    (config / "data").mkdir(parents=True)
    with gzip.open(config / "data" / "part-1.csv.gz", "wt", encoding="utf-8") as handle:
        for key, size, modified in rows:
            stamp = modified.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            quoted = urllib.parse.quote_plus(key, safe="/")
            handle.write(f'"{store.bucket}","{quoted}","true","false","{size}","{stamp}"\n')
    manifest = config / "2026-12-01T00-00Z" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(
        json.dumps(
            {
                "sourceBucket": "src-bucket",
                "destinationBucket": "arn:aws:s3:::dest",
                "version": "2016-11-30",
                "creationTimestamp": str(int(NOW.timestamp() * 1000)),
                "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, IsLatest, IsDeleteMarker, Size, LastModifiedDate",
                "files": [
                    {"key": "src-bucket/cfg/data/part-1.csv.gz", "size": 1, "MD5checksum": "x"}
                ],
            }
        )
    )
    return manifest


class TestInventory:
    def _store(self, tmp_path: Path) -> tuple[Store, Path, dict[str, Path]]:
        store = Store(provider="file", bucket=str(tmp_path / "s"), subpath="team/sub")
        base = tmp_path / "s" / "team" / "sub"
        paths = {}
        for name in ("dead a.bin", "changed.bin", "live.bin", "gone.bin", "dead-b.bin"):
            path = base / "runs" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"data")
            os.utime(path, (OLD.timestamp(), OLD.timestamp()))
            paths[name] = path
        return store, base, paths

    def test_s3_csv_inventory_rechecks_every_candidate(
        self, tmp_path: Path, host: PluginHost
    ) -> None:
        store, base, paths = self._store(tmp_path)
        rows = [(f"team/sub/runs/{n}", 4, OLD) for n in paths]
        rows.append(("other/team/runs/x.bin", 4, OLD))  # outside the sub-path: ignored
        manifest = _s3_csv_inventory(tmp_path, store, rows)
        # After the inventory was taken: one object rewritten, one deleted, one written new.
        os.utime(paths["changed.bin"], (YOUNG.timestamp(), YOUNG.timestamp()))
        paths["gone.bin"].unlink()
        (base / "runs" / "new.bin").write_bytes(b"new")
        os.utime(base / "runs" / "new.bin", (OLD.timestamp(), OLD.timestamp()))
        report = gcscale.collect(
            host, store, ["runs/live.bin"], options(tmp_path), inventory=str(manifest)
        )
        assert report.ok, report.errors
        assert remaining(tmp_path / "s") == {"runs/changed.bin", "runs/live.bin", "runs/new.bin"}
        assert report.deleted == 2  # "dead a.bin" (a URL-encoded key) and dead-b.bin
        assert report.kept_changed == 2  # rewritten, and gone since
        assert report.listed == 5 and report.kept_live == 1

    def test_parquet_gcs_and_azure_csv(self, tmp_path: Path, host: PluginHost) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        store, _, paths = self._store(tmp_path)
        names = ["dead a.bin", "dead-b.bin"]
        # GCS: a Parquet shard beside its manifest.
        gcs = tmp_path / "gcs"
        gcs.mkdir()
        pq.write_table(
            pa.table(
                {
                    "bucket": [store.bucket] * 2,
                    "name": [f"team/sub/runs/{n}" for n in names],
                    "size": [4, 4],
                    "updated": [OLD.isoformat()] * 2,
                }
            ),
            gcs / "cfg_snap_0.parquet",
        )
        (gcs / "cfg_snap_manifest.json").write_text(
            json.dumps(
                {
                    "snapshot_time": NOW.isoformat(),
                    "shard_count": 1,
                    "report_shards_file_names": ["cfg_snap_0.parquet"],
                }
            )
        )
        inv = __import__("byob_core.inventory", fromlist=["open_inventory"])
        opened = inv.open_inventory(str(gcs / "cfg_snap_manifest.json"))
        assert (opened.kind, opened.format) == ("gcs", "parquet")
        assert [e.key for e in opened.rows(store)] == sorted(f"team/sub/runs/{n}" for n in names)
        # Azure: Name is container/blob; another container's rows are not this store's.
        azure = tmp_path / "az" / "2026" / "12" / "01" / "rule"
        azure.mkdir(parents=True)
        container = store.bucket
        lines = ["Name,Last-Modified,Content-Length,IsCurrentVersion"]
        lines += [f"{container}/team/sub/runs/{n},{OLD.isoformat()},4,true" for n in names]
        lines.append(f"elsewhere/team/sub/runs/live.bin,{OLD.isoformat()},4,true")
        (azure / "rule.csv").write_text("\n".join(lines) + "\n")
        (azure / "rule-manifest.json").write_text(
            json.dumps(
                {
                    "destinationContainer": "inventory",
                    "files": [{"blob": "2026/12/01/rule/rule.csv", "size": 1}],
                    "inventoryStartTime": NOW.isoformat(),
                }
            )
        )
        report = gcscale.collect(
            host,
            store,
            ["runs/live.bin"],
            options(tmp_path),
            gcscale.Execution(shards=1),
            inventory=str(azure / "rule-manifest.json"),
        )
        assert report.deleted == 2 and report.listed == 2
        assert not paths["dead a.bin"].exists() and paths["live.bin"].exists()

    def test_not_a_manifest_is_an_input_error(self, tmp_path: Path) -> None:
        from byob_core.inventory import open_inventory

        (tmp_path / "m.json").write_text('{"keys": []}')
        with pytest.raises(GcInputError, match="not an inventory manifest"):
            open_inventory(str(tmp_path / "m.json"))
        with pytest.raises(GcInputError, match="no inventory manifest"):
            open_inventory(str(tmp_path / "none.json"))


# -- the engine's property, over both executors ---------------------------------------------

_NAMES = st.text("ab/", min_size=1, max_size=4).filter(
    lambda k: not k.startswith("/") and not k.endswith("/") and "//" not in k
)
_STATES = st.dictionaries(_NAMES, st.sampled_from(["live", "young", "old"]), max_size=25)


def _property_case(root: Path, states: dict[str, str]) -> tuple[Store, set[str], set[str]]:
    store = Store(provider="file", bucket=str(root), subpath="t")
    keep: set[str] = set()
    live: set[str] = {"zz-absent"}  # a live key naming nothing is harmless
    for name, state in states.items():
        key = f"k/{name}/o"  # object keys never clash with folders
        path = root / "t" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        stamp = YOUNG if state == "young" else OLD
        os.utime(path, (stamp.timestamp(), stamp.timestamp()))
        if state == "live":
            live.add(key)
        if state != "old":
            keep.add(key)
    return store, live, keep


def _left(root: Path) -> set[str]:
    base = root / "t"
    return {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states=_STATES, shards=st.integers(1, 6))
def test_property_local_shards_keep_exactly_live_and_young(states, shards) -> None:
    import tempfile

    host = PluginHost.load()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, live, keep = _property_case(root / "s", states)
        report = gcscale.collect(
            host,
            store,
            live,
            GcOptions(grace="24h", journal=root / "j" / "gc.json", force=True),
            gcscale.Execution(shards=shards),
        )
        assert _left(root / "s") == keep
        assert report.deleted == len(states) - len(keep)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(states=_STATES, shards=st.integers(2, 5))
def test_property_dask_shards_keep_exactly_live_and_young(states, shards, dask_client) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, live, keep = _property_case(root / "s", states)
        report = gcscale.collect(
            PluginHost.load(),
            store,
            live,
            GcOptions(grace="24h", journal=root / "j" / "gc.json", force=True),
            gcscale.Execution(executor="dask", scheduler=dask_client, shards=shards),
        )
        assert _left(root / "s") == keep
        assert report.executor == "dask" and report.ok


class TestCli:
    def _gc(self, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
        return run_gc_cli(tmp_path, *argv)

    def test_inventory_from_the_command_line(self, tmp_path: Path) -> None:
        store, live, young, garbage = make_store(tmp_path / "s", count=40)
        rows = [(f"team/sub/{k}", 0, OLD) for k in sorted(garbage | live)]
        # Sizes must agree with the objects for the re-check: read them back.
        rows = [(k, (tmp_path / "s" / k).stat().st_size, m) for k, _, m in rows]
        manifest = _s3_csv_inventory(tmp_path, store, rows)
        (tmp_path / "live.txt").write_text("".join(f"{k}\n" for k in sorted(live)))
        result = self._gc(
            tmp_path,
            "--live",
            str(tmp_path / "live.txt"),
            "--inventory",
            str(manifest),
            "--shards",
            "2",
            "--json",
        )
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["deleted"] == len(garbage) and data["kept_changed"] == 0
        assert data["shards"] == 2 and data["executor"] == "local"
        assert remaining(tmp_path / "s") == live | young | {".byob/store.json"}

    def test_progress_bar_and_text_report(self, tmp_path: Path) -> None:
        _, live, _, garbage = make_store(tmp_path / "s", count=40)
        (tmp_path / "live.txt").write_text("".join(f"{k}\n" for k in sorted(live)))
        result = self._gc(
            tmp_path, "--live", str(tmp_path / "live.txt"), "--shards", "3", "--progress", "bar"
        )
        assert result.returncode == 0, result.stderr
        assert "keys" in result.stderr and "deleted" in result.stderr  # tqdm's bar
        assert f"deleted                {len(garbage)}" in result.stdout
        assert "shards                 3" in result.stdout

    def test_bad_shard_count_is_exit_2(self, tmp_path: Path) -> None:
        make_store(tmp_path / "s", count=3)
        (tmp_path / "live.txt").write_text("runs/0/obj-0000.bin\n")
        result = self._gc(tmp_path, "--live", str(tmp_path / "live.txt"), "--shards", "0")
        assert result.returncode == 2 and "--shards" in result.stderr
        assert "Traceback" not in result.stderr
