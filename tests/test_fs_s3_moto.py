"""``byob://`` over the S3 plugin (byob-aws) on a moto server: fsspec's abstract suite, the guard,
team isolation, signing, async use without blocking the loop."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid

import boto3
import fsspec
import pytest
from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
from byob_core.fs import ByobFileSystem
from fsspec.callbacks import Callback
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)

BUCKETS = ("byob-inst", "byob-omega", "byob-lambda")


@pytest.fixture(scope="module")
def moto_endpoint():
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            client = _client(endpoint)
            for bucket in BUCKETS:
                client.create_bucket(Bucket=bucket)
            yield endpoint


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def _store(endpoint: str, bucket: str, subpath: str = "") -> dict:
    return {
        "provider": "aws",
        "bucket": bucket,
        "subpath": subpath,
        "endpoint": endpoint.split("://", 1)[1],
        "tls": False,
        "path_style": True,
        "region": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
    }


def _config(endpoint: str, tag: str = "") -> dict:
    """Instance store with a sub-path; omega (sub-path) and lambda (bucket root) on their own buckets."""
    return {
        "data_dir": "/tmp/byob-fs-s3-data",
        "instance": _store(endpoint, "byob-inst", f"wandb{tag}"),
        "teams": {
            "omega": _store(endpoint, "byob-omega", f"o{tag}"),
            "lambda": _store(endpoint, "byob-lambda", f"l{tag}"),
        },
    }


@pytest.fixture(scope="module")
def s3_fs(moto_endpoint) -> ByobFileSystem:
    return ByobFileSystem(config_data=_config(moto_endpoint))


@pytest.fixture
def isolated(moto_endpoint) -> ByobFileSystem:
    """A filesystem whose stores use sub-paths no other test uses."""
    return ByobFileSystem(config_data=_config(moto_endpoint, f"-{uuid.uuid4().hex[:8]}"))


def _bucket_objects(endpoint: str) -> dict[str, str]:
    client = _client(endpoint)
    found = {}
    for bucket in BUCKETS:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                found[f"{bucket}/{obj['Key']}"] = obj["ETag"]
    return found


# -- fsspec's own abstract test suite ------------------------------------------------------


class ByobS3Fixtures(AbstractFixtures):
    @pytest.fixture
    def fs(self, s3_fs):
        return s3_fs

    @pytest.fixture
    def fs_join(self):
        return lambda *parts: "/".join(parts)

    @pytest.fixture
    def fs_path(self) -> str:
        return f"omega/suite-{uuid.uuid4().hex[:8]}"

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False  # S3 has prefixes, not directories


class TestByobS3Copy(AbstractCopyTests, ByobS3Fixtures):
    pass


class TestByobS3Get(AbstractGetTests, ByobS3Fixtures):
    pass


class TestByobS3Put(AbstractPutTests, ByobS3Fixtures):
    pass


class TestByobS3Open(AbstractOpenTests, ByobS3Fixtures):
    pass


class TestByobS3Pipe(AbstractPipeTests, ByobS3Fixtures):
    pass


# -- addressing, names, metadata ----------------------------------------------------------


class TestS3Addressing:
    def test_keys_land_under_the_team_subpath(self, isolated, moto_endpoint):
        isolated.pipe_file("byob://omega/runs/a.bin", b"omega")
        isolated.pipe_file("byob://kappa/runs/k.bin", b"kappa")
        objects = _bucket_objects(moto_endpoint)
        omega_sub = isolated._place("omega").store.subpath
        inst_sub = isolated._place("kappa").store.subpath
        assert f"byob-omega/{omega_sub}/runs/a.bin" in objects
        assert f"byob-inst/{inst_sub}/runs/k.bin" in objects

    def test_listings_and_info_never_show_bucket_or_subpath(self, isolated):
        isolated.pipe({"omega/d/x.bin": b"x", "omega/d/e/y.bin": b"y"})
        info = isolated.info("omega/d/x.bin")
        assert info["name"] == "omega/d/x.bin" and info["size"] == 1
        assert "byob-omega" not in repr(info) and info.get("ETag")
        names = [
            *isolated.ls("omega/d", detail=False),
            *isolated.find("omega", withdirs=True),
            *isolated.glob("omega/**"),
            *[r for r, _, _ in isolated.walk("omega")],
        ]
        assert names and all(n == "omega" or n.startswith("omega/") for n in names)
        assert not any("byob-omega" in n for n in names)

    def test_checksum_and_etag_follow_the_content(self, isolated):
        isolated.pipe_file("omega/c", b"1")
        first, etag = isolated.checksum("omega/c"), isolated.info("omega/c")["ETag"]
        isolated.pipe_file("omega/c", b"2")
        assert isolated.checksum("omega/c") != first
        assert isolated.info("omega/c")["ETag"] != etag

    def test_reserved_prefix_hidden_and_kept_by_recursive_delete(self, isolated, moto_endpoint):
        sub = isolated._place("omega").store.subpath
        _client(moto_endpoint).put_object(
            Bucket="byob-omega", Key=f"{sub}/.byob/store.json", Body=b"{}"
        )
        isolated.pipe({"omega/a": b"a", "omega/b/c": b"c"})
        assert isolated.find("omega") == ["omega/a", "omega/b/c"]
        assert not any(".byob" in n for n in isolated.ls("omega", detail=False))
        isolated.rm("omega", recursive=True)
        isolated.invalidate_cache()
        assert isolated.find("omega") == []
        assert f"byob-omega/{sub}/.byob/store.json" in _bucket_objects(moto_endpoint)

    def test_invalidate_cache_sees_objects_written_behind_its_back(self, isolated, moto_endpoint):
        sub = isolated._place("omega").store.subpath
        isolated.pipe_file("omega/ic/a", b"a")
        assert isolated.ls("omega/ic", detail=False) == ["omega/ic/a"]
        _client(moto_endpoint).put_object(Bucket="byob-omega", Key=f"{sub}/ic/b", Body=b"b")
        isolated.invalidate_cache("omega/ic")
        assert isolated.ls("omega/ic", detail=False) == ["omega/ic/a", "omega/ic/b"]

    def test_copy_move_within_and_across_stores(self, isolated):
        isolated.pipe_file("omega/m/a", b"A" * 1000)
        isolated.copy("omega/m/a", "omega/m/b")
        isolated.mv("omega/m/b", "omega/m/c")
        isolated.copy("omega/m/a", "lambda/m/a")
        assert isolated.cat_file("omega/m/c") == b"A" * 1000
        assert isolated.cat_file("lambda/m/a") == b"A" * 1000
        assert not isolated.exists("omega/m/b")

    def test_mkdir_is_an_object_store_no_op(self, isolated, moto_endpoint):
        before = _bucket_objects(moto_endpoint)
        isolated.mkdir("omega/empty-dir")
        isolated.makedirs("omega/x/y", exist_ok=True)
        assert _bucket_objects(moto_endpoint) == before

    def test_put_and_get_report_progress(self, isolated, tmp_path):
        src = tmp_path / "big.bin"
        src.write_bytes(b"q" * 300_000)

        class Record(Callback):
            pass

        cb = Record()
        isolated.put_file(str(src), "omega/p/big.bin", callback=cb)
        assert cb.size == 300_000 and cb.value == 300_000
        cb = Record()
        isolated.get_file("omega/p/big.bin", str(tmp_path / "back.bin"), callback=cb)
        assert cb.value == 300_000 and (tmp_path / "back.bin").read_bytes() == src.read_bytes()


class TestS3Sign:
    def test_signed_get_reads_the_object_under_the_subpath(self, isolated):
        isolated.pipe_file("omega/s/a.txt", b"signed")
        url = isolated.sign("byob://omega/s/a.txt", user="alice")
        sub = isolated._place("omega").store.subpath
        assert f"/byob-omega/{sub}/s/a.txt?" in url and "X-User=alice" in url
        assert "X-Amz-Expires=3600" in url  # the CLI's default for reads
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (local moto)
            assert response.read() == b"signed"

    def test_signed_put_defaults_to_a_day_and_bounds_apply(self, isolated):
        url = isolated.sign("omega/s/b.txt", method="PUT")
        assert "X-Amz-Expires=86400" in url
        with pytest.raises(ValueError):
            isolated.sign("omega/s/b.txt", expiration=8 * 24 * 3600)

    def test_sign_refuses_escapes(self, isolated):
        with pytest.raises(PermissionError):
            isolated.sign("omega/../lambda/x")


# -- the guard and isolation over S3 -------------------------------------------------------

ESCAPES = [
    "omega/../lambda/x.bin",
    "omega/%2e%2e/lambda/x.bin",
    "omega/a%2F..%2F..%2Fx",
    "byob:///byob-lambda/x.bin",
    "../byob-lambda/x.bin",
    "omega//x.bin",
    "omega/.byob/store.json",
]


class TestS3Guard:
    @pytest.mark.parametrize("path", ESCAPES)
    def test_methods_refuse_and_touch_nothing(self, isolated, moto_endpoint, tmp_path, path):
        isolated.pipe({"lambda/x.bin": b"secret", "omega/src": b"s"})
        local = tmp_path / "l.bin"
        local.write_bytes(b"l")
        before = _bucket_objects(moto_endpoint)
        calls = [
            lambda: isolated.ls(path),
            lambda: isolated.info(path),
            lambda: isolated.find(path),
            lambda: isolated.glob(path + "/*"),
            lambda: isolated.cat_file(path),
            lambda: isolated.pipe_file(path, b"evil"),
            lambda: isolated.open(path, "wb").close(),
            lambda: isolated.put_file(str(local), path),
            lambda: isolated.put(str(local), path),
            lambda: isolated.get(path, str(tmp_path / "out")),
            lambda: isolated.copy("omega/src", path),
            lambda: isolated.copy(path, "omega/dst"),
            lambda: isolated.mv("omega/src", path),
            lambda: isolated.rm(path, recursive=True),
            lambda: isolated.rm_file(path),
            lambda: isolated.sign(path),
        ]
        for call in calls:
            with pytest.raises((PermissionError, FileNotFoundError)):
                call()
        assert _bucket_objects(moto_endpoint) == before

    def test_teams_never_list_each_others_objects(self, isolated):
        isolated.pipe({"omega/o-only": b"o", "lambda/l-only": b"l", "kappa/k-only": b"k"})
        for team, own in (("omega", "o-only"), ("lambda", "l-only"), ("kappa", "k-only")):
            for names in (
                isolated.ls(team, detail=False),
                isolated.find(team, withdirs=True),
                isolated.glob(f"{team}/*"),
                isolated.expand_path(team, recursive=True),
            ):
                assert f"{team}/{own}" in names
                assert all(n == team or n.startswith(team + "/") for n in names)
                assert len([n for n in names if n.endswith("-only")]) == 1


# -- async -------------------------------------------------------------------------------


class TestS3Async:
    def test_async_mode_awaits_the_provider_on_the_callers_loop(self, moto_endpoint):
        config = _config(moto_endpoint, f"-{uuid.uuid4().hex[:8]}")

        async def main():
            fs = ByobFileSystem(config_data=config, asynchronous=True)
            ticks = 0
            stop = asyncio.Event()

            async def tick():
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0)

            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0)
            # Each single call must suspend on network I/O and let the ticker run: a call
            # that blocked the loop would leave `ticks` unchanged across it.
            during = []
            for call in (
                lambda: fs._pipe_file("omega/as/a", b"async" * 100_000),
                lambda: fs._cat_file("omega/as/a"),
                lambda: fs._info("omega/as/a"),
                lambda: fs._find("omega"),
            ):
                before = ticks
                result = await call()
                during.append(ticks - before)
            data = await fs._cat_file("omega/as/a")
            await fs._pipe({"omega/as/b": b"b", "omega/as/c": b"c"})
            found = await fs._find("omega")
            info = await fs._info("omega/as/a")
            twin = fs._async_fs(fs._place("omega"))
            stop.set()
            await ticker
            with pytest.raises(PermissionError):
                await fs._cat_file("omega/../lambda/x")
            await fs._rm("omega", recursive=True)
            after = await fs._find("omega")
            del result
            return data, found, info["name"], during, twin.asynchronous, after

        data, found, name, during, twin_async, after = asyncio.run(main())
        assert data == b"async" * 100_000
        assert found == ["omega/as/a", "omega/as/b", "omega/as/c"]
        assert name == "omega/as/a" and twin_async is True and after == []
        assert all(d > 0 for d in during), during

    def test_fsspec_open_over_s3_in_a_thread_pool(self, isolated):
        isolated.pipe({f"omega/many/{i}": str(i).encode() for i in range(20)})
        files = fsspec.open_files("byob://omega/many/*", **isolated.storage_options)
        assert sorted(f.open().read() for f in files) == sorted(str(i).encode() for i in range(20))
