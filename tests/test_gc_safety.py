"""GC is never one typo away from deleting everything: the adversarial inputs of issue 18,
each through the command line, on the file store and on S3 (a moto server).

Every scenario writes objects, runs ``python -m byob_core gc`` in-process and then looks at
what is left in the bucket itself (the directory, or an S3 listing with boto3).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
from byob_core import config as byob_config
from byob_core import gc
from byob_core.cli import main


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            yield endpoint


class Backend:
    """One bucket on one backend, with helpers to fill it and see what is left."""

    def __init__(self, kind: str, tmp_path: Path, endpoint: str | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.endpoint = endpoint
        if kind == "file":
            self.bucket = str(tmp_path / "bucket")
            os.makedirs(self.bucket)
        else:
            self.bucket = f"gc-{uuid.uuid4().hex[:12]}"
            self.client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
            )
            self.client.create_bucket(Bucket=self.bucket)

    def store_toml(self, subpath: str, bucket: str | None = None) -> str:
        bucket = bucket or self.bucket
        if self.kind == "file":
            return f'provider = "file"\nbucket = {json.dumps(bucket)}\nsubpath = "{subpath}"\n'
        assert self.endpoint is not None
        return (
            f'provider = "aws"\nbucket = "{bucket}"\nsubpath = "{subpath}"\n'
            f'endpoint = "{self.endpoint.split("://", 1)[1]}"\ntls = false\npath_style = true\n'
            f'region = "{REGION}"\naccess_key = "{ACCESS_KEY}"\nsecret_key = "{SECRET_KEY}"\n'
        )

    def put(self, key: str, data: bytes = b"x") -> None:
        if self.kind == "file":
            path = Path(self.bucket, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        else:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def keys(self) -> set[str]:
        if self.kind == "file":
            root = Path(self.bucket)
            return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
        found: set[str] = set()
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            found.update(obj["Key"] for obj in page.get("Contents", []))
        return found


@pytest.fixture(params=["file", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    endpoint = request.getfixturevalue("moto_endpoint") if request.param == "s3" else None
    return Backend(request.param, tmp_path, endpoint)


@pytest.fixture
def make_config(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))

    def write(subpath: str = "team/sub", teams: dict[str, str] | None = None) -> Path:
        text = f'data_dir = "{tmp_path / "state"}"\n\n[instance]\n{backend.store_toml(subpath)}'
        for name, table in (teams or {}).items():
            text += f"\n[teams.{name}]\n{table}"
        path = tmp_path / "byob.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def gc_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["gc", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fill(backend: Backend, prefix: str, live: int, dead: int) -> tuple[set[str], set[str]]:
    live_keys = {f"{prefix}runs/live-{i:03d}.bin" for i in range(live)}
    dead_keys = {f"{prefix}runs/dead-{i:03d}.bin" for i in range(dead)}
    for key in sorted(live_keys | dead_keys):
        backend.put(key)
    return live_keys, dead_keys


# -- 1. live keys given with the store's sub-path, or in another wrong form ----------------


class TestLiveKeysInTheWrongForm:
    def test_keys_with_the_subpath_in_front_are_read_both_ways(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config = make_config()
        live, _dead = fill(backend, "team/sub/", live=30, dead=5)
        path = tmp_path / "live.txt"
        path.write_text("".join(f"{key}\n" for key in sorted(live)), encoding="utf-8")
        code, out, err = gc_cli(
            capsys, "--config", str(config), "--live", str(path), "--grace", "0s", "--json"
        )
        assert code == 0, err
        assert backend.keys() == live
        report = json.loads(out)
        assert (report["deleted"], report["kept_live"], report["live_missing"]) == (5, 30, 0)

    def test_most_live_keys_matching_nothing_stops_before_deleting(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config = make_config()
        live, dead = fill(backend, "team/sub/", live=30, dead=5)
        path = tmp_path / "live.txt"
        # The bucket name in front: a form no reading rescues.
        path.write_text("".join(f"bucket/{key}\n" for key in sorted(live)), encoding="utf-8")
        code, _, err = gc_cli(capsys, "--config", str(config), "--live", str(path), "--grace", "0s")
        assert code == 1
        assert backend.keys() == live | dead  # nothing deleted
        line = err.strip()
        assert "\n" not in line
        assert "30 of 30 live keys looked up name no object" in line
        assert "relative to the store's sub-path 'team/sub'" in line
        assert "'runs/a.bin'" in line
        assert "--force" in line
        assert "Traceback" not in err
        # A dry run refuses the same way.
        code, _, _ = gc_cli(
            capsys, "--config", str(config), "--live", str(path), "--grace", "0s", "--dry-run"
        )
        assert code == 1
        # --force runs anyway (the operator says these objects really are gone).
        code, out, err = gc_cli(
            capsys,
            "--config",
            str(config),
            "--live",
            str(path),
            "--grace",
            "0s",
            "--force",
            "--json",
        )
        assert code == 0, err
        assert backend.keys() == set()
        assert json.loads(out)["live_checked_missing"] == 30

    def test_a_few_missing_live_keys_are_fine(self, backend, make_config, tmp_path, capsys) -> None:
        config = make_config()
        live, _dead = fill(backend, "team/sub/", live=8, dead=3)
        path = tmp_path / "live.txt"
        relative = sorted(key.removeprefix("team/sub/") for key in live)
        path.write_text("".join(f"{k}\n" for k in [*relative, "gone/1", "gone/2"]))
        code, out, err = gc_cli(
            capsys, "--config", str(config), "--live", str(path), "--grace", "0s", "--json"
        )
        assert code == 0, err
        assert backend.keys() == live
        assert json.loads(out)["live_missing"] == 2


# -- 2. and 3. only the documented live-set forms ------------------------------------------


class TestLiveFileForms:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("runs/live-000.bin\nruns/live-001.bin\nruns/li", "has no newline"),
            ('{"keys": ["runs/live-000.bin", "runs/live-001.bin"]}\n', "a JSON object"),
            ('"runs/live-000.bin"\n', "JSON (a quoted string)"),
            ('{"key": "runs/live-000.bin"}\n{"key": "runs/live-001.bin"}\n', "a JSON object"),
            ('["runs/live-000.bin", {"key": "runs/live-001.bin"}]', "must be a string"),
        ],
        ids=["truncated", "object", "string", "json-lines", "list-of-objects"],
    )
    def test_anything_else_is_exit_2_and_deletes_nothing(
        self, backend, make_config, tmp_path, capsys, content: str, message: str
    ) -> None:
        config = make_config()
        live, dead = fill(backend, "team/sub/", live=3, dead=4)
        path = tmp_path / "live.txt"
        path.write_text(content, encoding="utf-8")
        code, _, err = gc_cli(capsys, "--config", str(config), "--live", str(path), "--grace", "0s")
        assert code == 2
        assert message in err
        assert len(err.strip().splitlines()) == 1
        assert backend.keys() == live | dead

    def test_a_truncated_export_of_many_keys_is_refused(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config = make_config()
        live, dead = fill(backend, "team/sub/", live=40, dead=2)
        text = "".join(f"{key.removeprefix('team/sub/')}\n" for key in sorted(live))
        path = tmp_path / "live.txt"
        path.write_text(text[: len(text) // 2 + 3], encoding="utf-8")  # cut mid-line
        code, _, err = gc_cli(capsys, "--config", str(config), "--live", str(path))
        assert code == 2
        assert "may be truncated" in err
        assert backend.keys() == live | dead

    def test_windows_line_ends_and_a_final_newline_are_accepted(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config = make_config()
        live, _dead = fill(backend, "team/sub/", live=3, dead=1)
        path = tmp_path / "live.txt"
        path.write_bytes(
            "".join(f"{k.removeprefix('team/sub/')}\r\n" for k in sorted(live)).encode()
        )
        code, _, err = gc_cli(capsys, "--config", str(config), "--live", str(path), "--grace", "0s")
        assert code == 0, err
        assert backend.keys() == live


# -- 5. another configured store nested inside the one collected ---------------------------


class TestNestedStores:
    def test_a_team_store_inside_the_instance_subpath_is_never_touched(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config = make_config("wandb", teams={"omega": backend.store_toml("wandb/teams/omega")})
        live, _dead = fill(backend, "wandb/", live=2, dead=3)
        team = {
            "wandb/teams/omega/.byob/marker.json",
            "wandb/teams/omega/runs/a.bin",
            "wandb/teams/omega/b.bin",
        }
        for key in team:
            backend.put(key)
        backend.put("wandb/teams/other.bin")  # not under the team's prefix: garbage
        path = tmp_path / "live.txt"
        path.write_text("".join(f"{k.removeprefix('wandb/')}\n" for k in sorted(live)))
        code, out, err = gc_cli(
            capsys, "--config", str(config), "--live", str(path), "--grace", "0s", "--json"
        )
        assert code == 0, err
        assert backend.keys() == live | team
        report = json.loads(out)
        assert (report["kept_nested"], report["deleted"]) == (3, 4)
        # The team's own collection still works on its own store.
        team_live = tmp_path / "team-live.txt"
        team_live.write_text("runs/a.bin\n")
        code, _, err = gc_cli(
            capsys,
            "--config",
            str(config),
            "--team",
            "omega",
            "--live",
            str(team_live),
            "--grace",
            "0s",
        )
        assert code == 0, err
        assert backend.keys() == live | {
            "wandb/teams/omega/.byob/marker.json",
            "wandb/teams/omega/runs/a.bin",
        }

    def test_nested_prefixes_of_configured_stores(self, backend, make_config) -> None:
        config = byob_config.load(
            make_config(
                "wandb",
                teams={
                    "a": backend.store_toml("wandb/teams/a"),
                    "b": backend.store_toml("elsewhere"),
                    "c": backend.store_toml("wandb"),  # the same place, not nested
                    "d": backend.store_toml("wandb/teams/a", bucket=backend.bucket + "-other"),
                },
            )
        )
        stores = list(config.stores().values())
        assert gc.nested_prefixes(config.instance, stores) == ("wandb/teams/a/",)


def test_a_file_store_in_a_folder_inside_the_instance_is_nested_too(tmp_path) -> None:
    from byob_core.stores import Store

    outer = Store(provider="file", bucket=str(tmp_path / "b"), subpath="wandb")
    inner = Store(provider="file", bucket=str(tmp_path / "b" / "wandb" / "teams"), subpath="o")
    beside = Store(provider="file", bucket=str(tmp_path / "b2"), subpath="wandb/x")
    assert gc.nested_prefixes(outer, [outer, inner, beside]) == ("wandb/teams/o/",)


# -- 6. a journal cannot widen the grace ---------------------------------------------------


class TestJournalCannotWidenTheGrace:
    def test_a_cutoff_in_the_future_deletes_no_young_object(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config_path = make_config()
        live, young = fill(backend, "team/sub/", live=2, dead=3)  # all written just now
        path = tmp_path / "live.txt"
        path.write_text("".join(f"{k.removeprefix('team/sub/')}\n" for k in sorted(live)))
        store = byob_config.load(config_path).instance
        journal = tmp_path / "journal.json"
        live_set = gc.load_live_keys(path)
        journal.write_text(
            json.dumps(
                {
                    "version": gc.JOURNAL_VERSION,
                    "store": list(store.identity),
                    "live": live_set.digest,
                    "grace_seconds": 3600.0,
                    "cutoff": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat(),
                    "phase": "objects",
                    "after": None,
                    "counters": dict.fromkeys(gc._COUNTERS, 0),
                    "errors": [],
                }
            )
        )
        code, out, err = gc_cli(
            capsys,
            "--config",
            str(config_path),
            "--live",
            str(path),
            "--grace",
            "1h",
            "--journal",
            str(journal),
            "--json",
        )
        assert code == 0, err
        report = json.loads(out)
        assert report["resumed"] is True  # the journal was taken, its cutoff was not
        assert dt.datetime.fromisoformat(report["cutoff"]) < dt.datetime.now(dt.UTC)
        assert backend.keys() == live | young
        assert report["kept_young"] == 3


# -- 4. options are never abbreviated --------------------------------------------------------


def _parsers(parser):
    import argparse

    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_no_parser_accepts_an_abbreviated_option() -> None:
    from byob_core.cli import build_parser

    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 10
    assert [p.prog for p in parsers if p.allow_abbrev] == []


@pytest.mark.parametrize("abbreviation", ["--all", "--allow", "--dry", "--purge", "--jour"])
def test_gc_with_an_abbreviated_option_is_exit_2_and_deletes_nothing(
    backend, make_config, tmp_path, capsys, abbreviation: str
) -> None:
    config = make_config()
    _, dead = fill(backend, "team/sub/", live=0, dead=3)
    path = tmp_path / "empty.txt"
    path.write_text("")
    argv = ["--config", str(config), "--live", str(path), "--grace", "0s", abbreviation]
    if abbreviation == "--jour":
        argv.append(str(tmp_path / "j.json"))
    with pytest.raises(SystemExit) as info:
        main(["gc", *argv])
    assert info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert backend.keys() == dead


# -- 7. one run per store, no temporary file left behind ------------------------------------


HOLD_LOCK = """
import sys, time
from byob_core import config, gc
store = config.load(sys.argv[1]).instance
with gc._store_lock(gc.lock_path(sys.argv[2], store), store):
    print("locked", flush=True)
    time.sleep(60)
"""


class TestOneRunPerStore:
    def test_a_second_run_exits_2_naming_the_holder(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        import subprocess
        import sys

        config = make_config()
        live, dead = fill(backend, "team/sub/", live=2, dead=3)
        path = tmp_path / "live.txt"
        path.write_text("".join(f"{k.removeprefix('team/sub/')}\n" for k in sorted(live)))
        journal = tmp_path / "state" / "gc" / "run.json"
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(config), str(journal)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            argv = ["--config", str(config), "--live", str(path), "--grace", "0s"]
            code, _, err = gc_cli(capsys, *argv, "--journal", str(journal))
            assert code == 2
            assert "another garbage collection of" in err
            assert f"pid {holder.pid} on " in err
            assert len(err.strip().splitlines()) == 1
            assert backend.keys() == live | dead
            # A dry run deletes nothing and takes no lock.
            assert gc_cli(capsys, *argv, "--journal", str(journal), "--dry-run")[0] == 0
        finally:
            holder.kill()
            holder.wait()
        # The kernel released the killed holder's lock: the next run goes ahead.
        code, _, err = gc_cli(
            capsys,
            "--config",
            str(config),
            "--live",
            str(path),
            "--grace",
            "0s",
            "--journal",
            str(journal),
        )
        assert code == 0, err
        assert backend.keys() == live

    def test_the_default_journal_directory_holds_the_lock_too(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config = make_config()
        live, dead = fill(backend, "team/sub/", live=1, dead=1)
        path = tmp_path / "live.txt"
        path.write_text("runs/live-000.bin\n")
        store = byob_config.load(config).instance
        journal = gc.default_journal(tmp_path / "state", store)
        with gc._store_lock(gc.lock_path(journal, store), store):
            code, _, err = gc_cli(
                capsys, "--config", str(config), "--live", str(path), "--grace", "0s"
            )
        assert code == 2
        assert f"pid {os.getpid()}" in err
        assert backend.keys() == live | dead

    def test_a_killed_runs_temporary_journal_is_removed_by_the_next_run(
        self, backend, make_config, tmp_path, capsys
    ) -> None:
        config = make_config()
        live, _ = fill(backend, "team/sub/", live=1, dead=2)
        path = tmp_path / "live.txt"
        path.write_text("runs/live-000.bin\n")
        journal = tmp_path / "j" / "run.json"
        journal.parent.mkdir()
        leftovers = [journal.with_name(".run.json.tmp"), journal.with_name(".run.json.x1y2.tmp")]
        for leftover in leftovers:
            leftover.write_text("{")  # what a SIGKILL mid-write leaves
        code, _, err = gc_cli(
            capsys,
            "--config",
            str(config),
            "--live",
            str(path),
            "--grace",
            "0s",
            "--journal",
            str(journal),
        )
        assert code == 0, err
        assert backend.keys() == live
        assert sorted(p.name for p in journal.parent.iterdir()) == [
            f"{gc._store_digest(byob_config.load(config).instance)}.lock"
        ]


def test_sigterm_mid_run_leaves_no_temporary_file_and_no_lock(tmp_path) -> None:
    """A real process, terminated while it deletes: it unwinds, exit 130, nothing left."""
    import signal
    import subprocess
    import sys
    import time

    bucket = tmp_path / "bucket"
    for i in range(3000):
        path = bucket / "sub" / f"d{i // 100:02d}" / f"{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (bucket / "sub" / "live.bin").write_bytes(b"x")
    live = tmp_path / "live.txt"
    live.write_text("live.bin\n")
    config = tmp_path / "byob.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "state"}"\n[instance]\nprovider = "file"\n'
        f'bucket = "{bucket}"\nsubpath = "sub"\n'
    )
    journal_dir = tmp_path / "state" / "gc"
    argv = [sys.executable, "-m", "byob_core", "gc", "--config", str(config)]
    argv += ["--live", str(live), "--grace", "0s"]
    env = {**os.environ, "BYOB_DATA_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(journal_dir.glob("*.lock")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err
    if proc.returncode == 130:
        assert err.strip().splitlines()[-1] == "interrupted"
    assert [p.name for p in journal_dir.iterdir() if p.name.endswith(".tmp")] == []
    # The next run takes the lock and finishes the work.
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (bucket / "sub").rglob("*") if p.is_file()] == ["live.bin"]


def test_a_streamed_live_set_in_the_wrong_form_stops_before_deleting(
    backend, make_config, tmp_path, capsys, monkeypatch
) -> None:
    """Large sorted live files are streamed, not held: the look-up reads their first keys."""
    from byob_core import livesets

    monkeypatch.setattr(livesets, "STREAM_BYTES", 1)
    config = make_config()
    live, dead = fill(backend, "team/sub/", live=20, dead=3)
    path = tmp_path / "live.txt"
    path.write_text("".join(f"{key}\n" for key in sorted(live)))  # sub-path in front
    assert livesets.is_streamable(str(path))
    argv = ["--config", str(config), "--live", str(path), "--grace", "0s"]
    code, _, err = gc_cli(capsys, *argv)
    assert code == 1
    assert "20 of 20 live keys looked up name no object" in one_line_of(err)
    assert backend.keys() == live | dead
    # In the documented form the same streamed file collects exactly the dead objects.
    path.write_text("".join(f"{key.removeprefix('team/sub/')}\n" for key in sorted(live)))
    code, _, err = gc_cli(capsys, *argv)
    assert code == 0, err
    assert backend.keys() == live


def one_line_of(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_sharded_run_journal_in_the_future_deletes_no_young_object(
    backend, make_config, tmp_path, capsys
) -> None:
    from byob_core import gcscale

    config_path = make_config()
    live, young = fill(backend, "team/sub/", live=4, dead=6)  # all written just now
    path = tmp_path / "live.txt"
    path.write_text("".join(f"{k.removeprefix('team/sub/')}\n" for k in sorted(live)))
    store = byob_config.load(config_path).instance
    journal = tmp_path / "journal.json"
    options = gc.GcOptions(grace="1h", journal=journal)
    live_set = gc.load_live_keys(path)
    shards = gcscale.plan_shards(live_set, 2)
    run_journal = gcscale._run_journal(options, store)
    assert run_journal is not None
    run_journal.write_text(
        json.dumps(
            {
                "version": gcscale.RUN_JOURNAL_VERSION,
                "identity": gcscale._plan_identity(store, live_set, options, shards),
                "now": (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat(),
                "done": {},
            }
        )
    )
    code, out, err = gc_cli(
        capsys,
        "--config",
        str(config_path),
        "--live",
        str(path),
        "--grace",
        "1h",
        "--journal",
        str(journal),
        "--shards",
        "2",
        "--json",
    )
    assert code == 0, err
    assert backend.keys() == live | young
    assert json.loads(out)["kept_young"] == 6
