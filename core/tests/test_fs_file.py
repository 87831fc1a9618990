"""``byob://`` over the built-in file provider: fsspec's abstract suite, the guard, team isolation."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import fsspec
import pytest
from byob_core.errors import UnsupportedError
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


def _config(root: Path) -> dict:
    """Instance store with a sub-path; omega and lambda with their own stores; kappa on the instance."""
    return {
        "data_dir": str(root / "data"),
        "instance": {"store": f"file://{root}/instance?subpath=wandb"},
        "teams": {
            "omega": {"provider": "file", "bucket": str(root / "omega-bucket"), "subpath": "o"},
            "lambda": {"provider": "file", "bucket": str(root / "lambda-bucket")},
            "kappa": {},
        },
    }


@pytest.fixture(scope="module")
def byob_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("byob-fs")


@pytest.fixture(scope="module")
def byob_fs(byob_root: Path) -> ByobFileSystem:
    return ByobFileSystem(config_data=_config(byob_root))


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content: what 'touch nothing' is checked against."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# -- fsspec's own abstract test suite ------------------------------------------------------


class ByobFileFixtures(AbstractFixtures):
    @pytest.fixture
    def fs(self, byob_fs: ByobFileSystem) -> ByobFileSystem:
        return byob_fs

    @pytest.fixture
    def fs_join(self):
        return lambda *parts: "/".join(parts)

    @pytest.fixture
    def fs_path(self) -> str:
        return f"omega/suite-{uuid.uuid4().hex[:8]}"

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return True  # the file provider keeps real directories


class TestByobFileCopy(AbstractCopyTests, ByobFileFixtures):
    pass


class TestByobFileGet(AbstractGetTests, ByobFileFixtures):
    pass


class TestByobFilePut(AbstractPutTests, ByobFileFixtures):
    pass


class TestByobFileOpen(AbstractOpenTests, ByobFileFixtures):
    pass


class TestByobFilePipe(AbstractPipeTests, ByobFileFixtures):
    pass


# -- addressing ----------------------------------------------------------------------------


class TestAddressing:
    def test_team_store_keys_land_under_its_subpath(self, byob_fs, byob_root):
        byob_fs.pipe_file("byob://omega/addr/a.bin", b"omega")
        assert (byob_root / "omega-bucket" / "o" / "addr" / "a.bin").read_bytes() == b"omega"

    def test_team_without_store_uses_the_instance_store(self, byob_fs, byob_root):
        byob_fs.pipe_file("byob://kappa/addr/k.bin", b"kappa")
        assert (byob_root / "instance" / "wandb" / "addr" / "k.bin").read_bytes() == b"kappa"
        assert byob_fs.cat_file("byob://_instance/addr/k.bin") == b"kappa"

    def test_names_are_team_relative_never_the_bucket(self, byob_fs, byob_root):
        byob_fs.pipe_file("omega/names/x/y.bin", b"1")
        results = [
            byob_fs.ls("omega/names", detail=False),
            [e["name"] for e in byob_fs.ls("omega/names/x")],
            byob_fs.find("omega/names", withdirs=True),
            list(byob_fs.find("omega/names", detail=True)),
            byob_fs.glob("omega/names/**"),
            [root for root, _, _ in byob_fs.walk("omega/names")],
            [byob_fs.info("omega/names/x/y.bin")["name"]],
        ]
        for names in results:
            assert names and all(n.startswith("omega/names") for n in names), names
        info = byob_fs.info("omega/names/x/y.bin")
        assert str(byob_root) not in repr(info)

    def test_root_lists_the_teams(self, byob_fs):
        assert byob_fs.ls("", detail=False) == [
            "_instance",
            "lambda",
            "omega",
        ]  # kappa has no store of its own
        assert byob_fs.isdir("byob://omega") and byob_fs.info("omega")["type"] == "directory"

    def test_empty_team_root_lists_empty(self, tmp_path):
        fs = ByobFileSystem(config_data=_config(tmp_path))
        assert fs.ls("omega") == [] and fs.find("omega") == []

    def test_missing_object_error_names_the_byob_path(self, byob_fs, byob_root):
        with pytest.raises(FileNotFoundError) as caught:
            byob_fs.cat_file("omega/none/such.bin")
        assert str(byob_root) not in str(caught.value)
        assert "omega/none/such.bin" in str(caught.value)
        with pytest.raises(FileNotFoundError):
            byob_fs.info("omega/none/such.bin")

    def test_reserved_prefix_is_hidden_from_every_listing(self, byob_fs, byob_root):
        marker = byob_root / "omega-bucket" / "o" / ".byob" / "store.json"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("{}")
        byob_fs.pipe_file("omega/visible.bin", b"v")
        listings = [
            byob_fs.ls("omega", detail=False),
            byob_fs.find("omega", withdirs=True),
            byob_fs.glob("omega/**"),
            byob_fs.glob("omega/.*"),
            byob_fs.expand_path("omega", recursive=True),
            [os.path.join(r, n) for r, ds, fs in byob_fs.walk("omega") for n in ds + fs],
            list(byob_fs.du("omega", total=False)),
        ]
        for names in listings:
            assert not any(".byob" in n for n in names), names
        assert "omega/visible.bin" in byob_fs.find("omega")

    def test_recursive_delete_of_team_root_keeps_the_marker(self, tmp_path):
        fs = ByobFileSystem(config_data=_config(tmp_path))
        marker = tmp_path / "omega-bucket" / "o" / ".byob" / "store.json"
        marker.parent.mkdir(parents=True)
        marker.write_text("{}")
        fs.pipe({"omega/a/1": b"1", "omega/b": b"2"})
        fs.rm("omega", recursive=True)
        assert fs.find("omega") == []
        assert marker.read_text() == "{}"

    def test_reserved_prefix_is_refused_for_writes_and_reads(self, byob_fs):
        for call in (
            lambda: byob_fs.pipe_file("omega/.byob/x", b"x"),
            lambda: byob_fs.cat_file("omega/.byob/store.json"),
            lambda: byob_fs.rm("omega/.byob", recursive=True),
            lambda: byob_fs.open("omega/.byob/y", "wb"),
        ):
            with pytest.raises(PermissionError):
                call()

    def test_store_nested_in_another_is_invisible_from_the_outer_one(self, tmp_path):
        config = _config(tmp_path)
        config["teams"]["nested"] = {"store": f"file://{tmp_path}/instance?subpath=wandb/nested"}
        fs = ByobFileSystem(config_data=config)
        fs.pipe_file("nested/secret.bin", b"s")
        fs.pipe_file("kappa/public.bin", b"p")
        assert fs.find("kappa") == ["kappa/public.bin"]
        assert fs.ls("kappa", detail=False) == ["kappa/public.bin"]
        with pytest.raises(PermissionError):
            fs.cat_file("kappa/nested/secret.bin")

    def test_mkdir_on_team_root_is_a_no_op_and_makedirs_respects_exist_ok(self, byob_fs):
        byob_fs.mkdir("omega")
        byob_fs.makedirs("omega", exist_ok=True)
        with pytest.raises(FileExistsError):
            byob_fs.makedirs("omega")

    def test_size_checksum_ukey_modified(self, byob_fs):
        byob_fs.pipe_file("omega/meta/a", b"12345")
        assert byob_fs.size("omega/meta/a") == 5
        first = byob_fs.checksum("omega/meta/a")
        assert isinstance(first, int) and byob_fs.ukey("omega/meta/a")
        assert byob_fs.modified("omega/meta/a") is not None
        byob_fs.pipe_file("omega/meta/a", b"123456")
        assert byob_fs.checksum("omega/meta/a") != first

    def test_copy_and_move_within_a_store(self, byob_fs):
        byob_fs.pipe_file("omega/mv/a", b"A")
        byob_fs.copy("omega/mv/a", "omega/mv/b")
        byob_fs.mv("omega/mv/b", "omega/mv/c")
        assert byob_fs.cat_file("omega/mv/c") == b"A"
        assert not byob_fs.exists("omega/mv/b")

    def test_copy_across_stores_streams_the_bytes(self, byob_fs):
        byob_fs.pipe_file("omega/cross/a", b"x" * 100_000)
        byob_fs.copy("omega/cross/a", "lambda/cross/a")
        assert byob_fs.cat_file("lambda/cross/a") == b"x" * 100_000

    def test_sign_on_a_file_store_raises(self, byob_fs):
        byob_fs.pipe_file("omega/s", b"s")
        with pytest.raises(UnsupportedError):
            byob_fs.sign("omega/s")
        with pytest.raises(NotImplementedError):
            byob_fs.sign("omega/s", method="PUT")

    def test_callbacks_pass_through(self, byob_fs, tmp_path):
        local = tmp_path / "cb"
        local.mkdir()
        for i in range(3):
            (local / f"{i}.bin").write_bytes(b"z" * 10)

        class Counting(Callback):
            pass

        cb = Counting()
        byob_fs.put(sorted(str(p) for p in local.iterdir()), "omega/cb/", callback=cb)
        assert cb.size == 3 and cb.value == 3
        cb = Counting()
        byob_fs.get("omega/cb/*", str(tmp_path / "back") + "/", callback=cb)
        assert cb.size == 3 and cb.value == 3
        assert sorted(os.listdir(tmp_path / "back")) == ["0.bin", "1.bin", "2.bin"]


# -- the escape guard ----------------------------------------------------------------------

ESCAPES = [
    "omega/../lambda/x.bin",
    "omega/a/../../lambda/x.bin",
    "omega/..",
    "omega/%2e%2e/lambda/x.bin",
    "omega/a%2F..%2F..%2Flambda%2Fx.bin",
    "omega/%252e%252e/x.bin",
    "byob://omega/../lambda/x.bin",
    "byob:///etc/passwd",
    "/etc/passwd",
    "..",
    "../omega/x.bin",
    "%2e%2e/x.bin",
    "omega/./x.bin",
    "omega//x.bin",
    "omega/a\\..\\b",
    "omega/a\x00b",
    "omega/.byob/store.json",
]
GLOB_ESCAPES = [
    "omega/../lambda/*",
    "omega/*/../../lambda/**",
    "omega/%2e%2e/*",
    "/etc/*",
    "../*",
    "omega/.byob/*",
]


def _every_method(fs: ByobFileSystem, path: str, local: str):
    """One call per public method that takes a byob path."""
    return {
        "ls": lambda: fs.ls(path),
        "info": lambda: fs.info(path),
        "exists": lambda: fs.exists(path),
        "isdir": lambda: fs.isdir(path),
        "isfile": lambda: fs.isfile(path),
        "size": lambda: fs.size(path),
        "find": lambda: fs.find(path),
        "walk": lambda: list(fs.walk(path)),
        "du": lambda: fs.du(path),
        "glob": lambda: fs.glob(path),
        "expand_path": lambda: fs.expand_path(path, recursive=True),
        "cat_file": lambda: fs.cat_file(path),
        "cat": lambda: fs.cat(path),
        "pipe_file": lambda: fs.pipe_file(path, b"evil"),
        "pipe": lambda: fs.pipe({path: b"evil"}),
        "open_r": lambda: fs.open(path, "rb").close(),
        "open_w": lambda: fs.open(path, "wb").close(),
        "touch": lambda: fs.touch(path),
        "put_file": lambda: fs.put_file(local, path),
        "put": lambda: fs.put(local, path),
        "get_file": lambda: fs.get_file(path, local + ".out"),
        "get": lambda: fs.get(path, local + ".out2"),
        "cp_from": lambda: fs.copy(path, "omega/guard/dst"),
        "cp_to": lambda: fs.copy("omega/guard/src", path),
        "mv_from": lambda: fs.mv(path, "omega/guard/dst2"),
        "mv_to": lambda: fs.mv("omega/guard/src", path),
        "rm": lambda: fs.rm(path, recursive=True),
        "rm_file": lambda: fs.rm_file(path),
        "mkdir": lambda: fs.mkdir(path),
        "makedirs": lambda: fs.makedirs(path, exist_ok=True),
        "rmdir": lambda: fs.rmdir(path),
        "checksum": lambda: fs.checksum(path),
        "ukey": lambda: fs.ukey(path),
        "modified": lambda: fs.modified(path),
        "sign": lambda: fs.sign(path),
        "fsspec.open": lambda: fsspec.open(
            "byob://" + path.removeprefix("byob://"), "wb", fs=fs
        ).open(),
    }


class TestEscapeGuard:
    @pytest.fixture
    def guarded(self, tmp_path):
        fs = ByobFileSystem(config_data=_config(tmp_path))
        fs.pipe({"omega/guard/src": b"src", "lambda/x.bin": b"secret", "kappa/x.bin": b"inst"})
        local = tmp_path / "local.bin"
        local.write_bytes(b"local")
        return fs, tmp_path, str(local)

    @pytest.mark.parametrize("path", ESCAPES)
    def test_every_method_refuses_and_touches_nothing(self, guarded, path):
        fs, root, local = guarded
        before = _snapshot(root)
        for name, call in _every_method(fs, path, local).items():
            with pytest.raises((PermissionError, FileNotFoundError, IsADirectoryError)) as caught:
                call()
            assert isinstance(caught.value, OSError), name
            assert _snapshot(root) == before, f"{name} changed the bucket for {path!r}"

    @pytest.mark.parametrize("pattern", GLOB_ESCAPES)
    def test_glob_patterns_are_guarded(self, guarded, pattern):
        fs, root, local = guarded
        before = _snapshot(root)
        calls = {
            "glob": lambda: fs.glob(pattern),
            "expand_path": lambda: fs.expand_path(pattern),
            "rm": lambda: fs.rm(pattern, recursive=True),
            "cat": lambda: fs.cat(pattern),
            "get": lambda: fs.get(pattern, local + ".dir/"),
            "copy": lambda: fs.copy(pattern, "omega/guard/out/"),
            "open_files": lambda: fsspec.open_files("byob://" + pattern, **fs.storage_options),
        }
        for name, call in calls.items():
            with pytest.raises(PermissionError):
                call()
            assert _snapshot(root) == before, name

    def test_escape_errors_are_permission_errors(self, guarded):
        fs, _, _ = guarded
        with pytest.raises(PermissionError, match=r"'\.\.' path segment"):
            fs.cat_file("omega/../lambda/x.bin")

    def test_unknown_reserved_team_name_is_not_found(self, guarded):
        fs, _, _ = guarded
        with pytest.raises(FileNotFoundError):
            fs.cat_file("_other/x.bin")


# -- isolation between teams ----------------------------------------------------------------


class TestTeamIsolation:
    def test_separate_stores_never_list_each_others_objects(self, tmp_path):
        fs = ByobFileSystem(config_data=_config(tmp_path))
        fs.pipe(
            {
                "omega/shared-name.bin": b"o",
                "omega/o-only/1": b"o",
                "lambda/l-only/1": b"l",
                "kappa/k-only/1": b"k",
            }
        )
        for team, own in (("omega", "o-only"), ("lambda", "l-only"), ("kappa", "k-only")):
            others = {"o-only", "l-only", "k-only"} - {own}
            listings = [
                fs.ls(team, detail=False),
                fs.find(team, withdirs=True),
                fs.glob(f"{team}/**"),
                fs.expand_path(team, recursive=True),
                [r for r, _, _ in fs.walk(team)],
                list(fs.du(team, total=False)),
            ]
            for names in listings:
                assert any(own in n for n in names), (team, names)
                assert not any(o in n for n in names for o in others), (team, names)
                assert all(n == team or n.startswith(team + "/") for n in names)
        assert not fs.exists("omega/l-only/1") and not fs.exists("lambda/o-only/1")

    def test_kappa_and_instance_are_the_same_store(self, tmp_path):
        fs = ByobFileSystem(config_data=_config(tmp_path))
        fs.pipe_file("kappa/k.bin", b"k")
        assert fs.find("_instance") == ["_instance/k.bin"]
        assert fs.find("omega") == []


class TestFileObjects:
    """What `open` hands out: byob's path and filesystem, never the provider's."""

    def test_a_file_pickles_and_reopens_where_it_was(self, tmp_path):
        import pickle

        fs = ByobFileSystem(config_data=_config(tmp_path))
        fs.pipe_file("omega/p.bin", b"0123456789")
        with fs.open("omega/p.bin", "rb") as handle:
            handle.seek(3)
            again = pickle.loads(pickle.dumps(handle))  # noqa: S301 - our own bytes
        with again:
            assert (again.path, again.read()) == ("omega/p.bin", b"3456789")
            assert isinstance(again.fs, ByobFileSystem)

    def test_a_file_being_written_does_not_pickle(self, tmp_path):
        import pickle

        fs = ByobFileSystem(config_data=_config(tmp_path))
        with fs.open("omega/w.bin", "wb") as handle, pytest.raises(ValueError, match="reading"):
            pickle.dumps(handle)

    def test_transactions_commit_at_the_end(self, tmp_path):
        fs = ByobFileSystem(config_data=_config(tmp_path), skip_instance_cache=True)
        with fs.transaction:
            with fs.open("omega/t.bin", "wb") as handle:
                handle.write(b"later")
            assert not fs.exists("omega/t.bin")
        assert fs.cat_file("omega/t.bin") == b"later"

    def test_errors_never_name_the_bucket_in_any_spelling(self, tmp_path):
        """Provider messages (an SDK's prose, a URL with the bucket) give way to byob paths.

        Synthetic errors: no local server words its errors these ways.
        """
        fs = ByobFileSystem(config_data=_config(tmp_path))
        fs.pipe_file("omega/x.bin", b"x")
        bucket = str(tmp_path / "omega-bucket").strip("/")
        for message in (
            f"NoSuchBucket: {bucket}",
            f"GET http://h/storage/v1/b/{bucket}/o/o%2Fx.bin: 404",
            f"cannot reach ({bucket}).",
        ):
            new = fs._translate(OSError(message), "omega/x.bin")
            assert isinstance(new, OSError)
            assert bucket not in str(new), str(new)
            assert "omega" in str(new)

    def test_the_identity_of_a_file_cannot_be_changed(self, tmp_path):
        fs = ByobFileSystem(config_data=_config(tmp_path))
        fs.pipe_file("omega/i.bin", b"i")
        with fs.open("omega/i.bin", "rb") as handle:
            with pytest.raises(AttributeError):
                handle.path = "lambda/i.bin"
            with pytest.raises(AttributeError):
                handle.fs = fs.byob.filesystem(fs.byob.resolve("lambda").store)


# -- configuration -----------------------------------------------------------------------


class TestConfiguration:
    def test_config_file_through_storage_options_and_env(self, tmp_path, monkeypatch):
        cfg = tmp_path / "byob.toml"
        cfg.write_text(f'[instance]\nstore = "file://{tmp_path}/inst"\n')
        fs = fsspec.filesystem("byob", config=str(cfg))
        fs.pipe_file("_instance/a", b"a")
        assert (tmp_path / "inst" / "a").read_bytes() == b"a"
        monkeypatch.setenv("BYOB_CONFIG", str(cfg))
        with fsspec.open("byob://_instance/a") as f:
            assert f.read() == b"a"

    def test_changed_config_file_is_reloaded(self, tmp_path, monkeypatch):
        cfg = tmp_path / "byob.toml"
        cfg.write_text(f'[instance]\nstore = "file://{tmp_path}/one"\n')
        monkeypatch.setenv("BYOB_CONFIG", str(cfg))
        fsspec.filesystem("byob").pipe_file("_instance/a", b"1")
        assert fsspec.filesystem("byob") is fsspec.filesystem("byob")  # cached while unchanged
        cfg.write_text(f'[instance]\nstore = "file://{tmp_path}/two"\n# changed\n')
        fsspec.filesystem("byob").pipe_file("_instance/a", b"2")
        assert (tmp_path / "one" / "a").read_bytes() == b"1"
        assert (tmp_path / "two" / "a").read_bytes() == b"2"

    def test_the_instance_cache_follows_the_environment(self, tmp_path, monkeypatch):
        one, two = tmp_path / "one.toml", tmp_path / "two.toml"
        one.write_text(f'[instance]\nstore = "file://{tmp_path}/one"\n')
        two.write_text(f'[instance]\nstore = "file://{tmp_path}/two"\n')
        monkeypatch.setenv("BYOB_CONFIG", str(one))
        first = fsspec.filesystem("byob")
        assert fsspec.filesystem("byob") is first
        monkeypatch.setenv("BYOB_CONFIG", str(two))
        second = fsspec.filesystem("byob")
        assert second is not first
        second.pipe_file("_instance/a", b"2")
        assert (tmp_path / "two" / "a").read_bytes() == b"2"
        monkeypatch.setenv("BYOB_DISABLE_PLUGINS", "nothing-real")
        assert fsspec.filesystem("byob") is not second, "another plugin set is another instance"
        monkeypatch.delenv("BYOB_DISABLE_PLUGINS")
        assert fsspec.filesystem("byob") is second
        assert fsspec.filesystem("byob", skip_instance_cache=True) is not second
        ByobFileSystem.clear_instance_cache()
        assert fsspec.filesystem("byob") is not second

    def test_team_without_any_store_is_not_found(self, tmp_path):
        fs = ByobFileSystem(config_data={"deployment": "saas", "data_dir": str(tmp_path)})
        with pytest.raises(FileNotFoundError):
            fs.ls("omega")

    def test_pickles_by_its_storage_options(self, byob_fs):
        import pickle

        byob_fs.pipe_file("omega/pickled", b"p")
        clone = pickle.loads(pickle.dumps(byob_fs))  # noqa: S301 (our own object)
        assert clone.cat_file("omega/pickled") == b"p"

    def test_conflicting_options_are_refused(self, tmp_path):
        with pytest.raises(ValueError):
            ByobFileSystem(config="x.toml", config_data={})

    def test_strip_protocol_and_url_to_fs(self, byob_fs):
        assert ByobFileSystem._strip_protocol("byob://omega/a/") == "omega/a"
        fs, path = fsspec.core.url_to_fs("byob://omega/a/b.bin", config_data={"data_dir": "/tmp/x"})
        assert isinstance(fs, ByobFileSystem) and path == "omega/a/b.bin"


# -- async --------------------------------------------------------------------------------


class TestAsync:
    def test_async_api_over_a_sync_provider_uses_threads(self, tmp_path):
        async def main():
            fs = ByobFileSystem(config_data=_config(tmp_path), asynchronous=True)
            ticks = 0
            stop = asyncio.Event()

            async def tick():
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0)

            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0)
            before = ticks
            await fs._pipe_file("omega/as/a", b"async" * 200_000)
            during = ticks - before  # the write ran in a thread while the loop went on
            names = await fs._find("omega")
            data = await fs._cat_file("omega/as/a")
            info = await fs._info("omega/as/a")
            stop.set()
            await ticker
            with pytest.raises(PermissionError):
                await fs._cat_file("omega/../lambda/x")
            await fs._rm("omega", recursive=True)
            return names, data, info["name"], await fs._find("omega"), during

        names, data, name, after, during = asyncio.run(main())
        assert names == ["omega/as/a"] and data == b"async" * 200_000
        assert name == "omega/as/a" and after == [] and during > 0


# -- universal_pathlib ------------------------------------------------------------------


class TestUPath:
    def test_upath_reads_writes_and_lists(self, tmp_path, monkeypatch):
        from byob_core.fs import ByobPath
        from upath import UPath

        cfg = tmp_path / "byob.toml"
        cfg.write_text(f'[instance]\nstore = "file://{tmp_path}/inst"\n')
        monkeypatch.setenv("BYOB_CONFIG", str(cfg))
        p = UPath("byob://omega/a")
        assert isinstance(p, ByobPath)
        (p / "b.txt").write_text("hello")
        assert (p / "b.txt").read_text() == "hello"
        assert [c.name for c in p.iterdir()] == ["b.txt"]
        assert str(p / "b.txt") == "byob://omega/a/b.txt"
        assert p.exists() and (p / "b.txt").is_file()
        assert [str(x) for x in p.glob("*.txt")] == ["byob://omega/a/b.txt"]
        assert (tmp_path / "inst" / "a" / "b.txt").read_text() == "hello"
        # The team is the anchor, as the bucket is for s3://.
        assert (p / "b.txt").parts == ("omega/", "a", "b.txt")
        assert p.drive == "omega" and str(p.parent) == "byob://omega/"
        assert p.parent.parent == p.parent
        with pytest.raises(PermissionError):
            UPath("byob://omega/../kappa/x").read_bytes()
