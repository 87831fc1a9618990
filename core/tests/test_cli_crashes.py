"""Inputs that used to crash the CLI with a traceback or an "unexpected" error (issue 18
item 9): each is now exit 2 with one line naming the problem, and leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from byob_core import gc, teams
from byob_core.cli import main
from byob_core.errors import ConfigError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "unexpected" not in lines[0] and "Traceback" not in err
    return lines[0]


@pytest.fixture
def file_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    (tmp_path / "bucket" / "sub").mkdir(parents=True)
    (tmp_path / "bucket" / "sub" / "a.bin").write_bytes(b"x")
    path = tmp_path / "byob.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\n[instance]\nprovider = "file"\n'
        f'bucket = "{tmp_path / "bucket"}"\nsubpath = "sub"\n'
    )
    (tmp_path / "live.txt").write_text("a.bin\n")
    return path


@pytest.fixture
def s3_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An S3 store that signs offline (nothing here sends a request)."""
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    path = tmp_path / "s3.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\n[instance]\nprovider = "aws"\nbucket = "b"\n'
        'subpath = "sub"\nregion = "us-east-1"\naccess_key = "AKIAEXAMPLE"\n'
        'secret_key = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"\n'
    )
    return path


def test_a_config_that_is_not_utf8(tmp_path, capsys) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('# café\n[instance]\nprovider = "file"\n'.encode("latin-1"))
    code, err = run(capsys, "resolve", "--config", str(path), "k")
    assert code == 2
    assert "not UTF-8 text: byte 0xe9 at line 1" in one_line(err)


def test_config_from_dev_zero_is_read_with_a_bound(capsys) -> None:
    code, err = run(capsys, "resolve", "--config", "/dev/zero", "k")
    assert code == 2
    assert "larger than 16 MiB" in one_line(err)


def test_a_config_that_is_a_directory(tmp_path, capsys) -> None:
    code, err = run(capsys, "resolve", "--config", str(tmp_path), "k")
    assert code == 2
    assert "directory" in one_line(err)


@pytest.mark.parametrize("grace", ["99999999999999d", "9" * 40 + "w", "1000000000d", "36700d"])
def test_a_huge_grace(file_config, tmp_path, capsys, grace: str) -> None:
    live = str(tmp_path / "live.txt")
    code, err = run(capsys, "gc", "--config", str(file_config), "--live", live, "--grace", grace)
    assert code == 2
    assert "longer than 100 years" in one_line(err)
    assert (tmp_path / "bucket" / "sub" / "a.bin").exists()


def test_a_grace_reaching_before_year_one_in_the_library(tmp_path) -> None:
    from byob_core.plugins import PluginHost
    from byob_core.stores import Store

    store = Store(provider="file", bucket=str(tmp_path), subpath="s")
    options = gc.GcOptions(grace=dt.timedelta(days=999_999_999))
    with pytest.raises(gc.GcInputError, match="before the year 1"):
        gc.collect(PluginHost.load(), store, ["a"], options)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--expires", "99999999999999999999"], "out of range"),
        (["--expires", str(10**15)], "out of range"),
        (["--at", "9999-12-31T23:59:59Z"], "end of the calendar"),
        (["--at", "0001-01-01T00:00:00+14:00"], "end of the calendar"),
    ],
)
def test_huge_expires_and_at(s3_config, capsys, argv: list[str], message: str) -> None:
    code, err = run(capsys, "sign", "--config", str(s3_config), "runs/a.bin", *argv)
    assert code == 2
    assert message in one_line(err)


def test_a_journal_path_that_is_a_directory(file_config, tmp_path, capsys) -> None:
    live = str(tmp_path / "live.txt")
    journal = tmp_path / "journal-dir"
    journal.mkdir()
    code, err = run(
        capsys, "gc", "--config", str(file_config), "--live", live, "--journal", str(journal)
    )
    assert code == 2
    assert "cannot read the journal" in one_line(err)
    assert "is a directory" in err


def test_a_journal_inside_a_file(file_config, tmp_path, capsys) -> None:
    live = str(tmp_path / "live.txt")
    code, err = run(
        capsys, "gc", "--config", str(file_config), "--live", live, "--journal", f"{live}/j.json"
    )
    assert code == 2
    assert "journal" in one_line(err)


@pytest.mark.parametrize("value", ['"lots"', "-1", "true", "1e99"])
def test_a_bad_retry_total(tmp_path, monkeypatch, capsys, value: str) -> None:
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    path = tmp_path / "az.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\n[instance]\nprovider = "azure"\n'
        'account = "devstoreaccount1"\nbucket = "c"\nsubpath = "s"\n'
        'endpoint = "127.0.0.1:9"\ntls = false\n'
        'account_key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/'
        'K1SZFPTOtr/KBHBeksoGMGw=="\n'
        f"[instance.options]\nretry_total = {value}\n"
    )
    code, err = run(capsys, "validate", "--config", str(path), "--read-only")
    assert code == 2
    assert "options.retry_total: must be a whole number" in one_line(err)


def test_team_create_with_a_directory_as_config(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    store = f"file://{tmp_path / 'omega'}?subpath=o"
    code, err = run(
        capsys, "team", "create", "omega", "--config", str(config_dir), "--store", store
    )
    assert code == 2
    assert "is not a regular file" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf"]  # no conf.tmp, no store


def test_a_failed_config_write_leaves_no_tmp(tmp_path, monkeypatch) -> None:
    path = tmp_path / "byob.toml"
    path.write_text("# old\n")

    def refuse(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConfigError, match=r"cannot write .*No space left on device"):
        teams.write_config(path, "# new\n", 0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["byob.toml"]
    assert path.read_text() == "# old\n"


@pytest.mark.parametrize("name", ["omega\n", "omega\n.x", "\nomega"])
def test_a_team_name_with_a_newline_is_refused(file_config, tmp_path, capsys, name) -> None:
    code, err = run(capsys, "resolve", "--config", str(file_config), "--team", name, "k")
    assert code == 2
    assert "invalid team name" in one_line(err)
    store = f"file://{tmp_path / 'omega'}?subpath=o"
    code, err = run(capsys, "team", "create", name, "--config", str(file_config), "--store", store)
    assert code == 2
    assert "invalid team name" in one_line(err)
    assert not (tmp_path / "omega").exists()


def _gc_argv(config: Path, live: str) -> list[str]:
    return [sys.executable, "-m", "byob_core", "gc", "--config", str(config), "--live", live]


@pytest.mark.parametrize("live", ["-", "/dev/stdin"])
def test_live_keys_from_a_pipe(file_config, tmp_path, live: str) -> None:
    (tmp_path / "bucket" / "sub" / "dead.bin").write_bytes(b"x")
    argv = [*_gc_argv(file_config, live), "--grace", "0s", "--json"]
    done = subprocess.run(argv, input="a.bin\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "bucket" / "sub").iterdir()) == ["a.bin"]


def test_live_keys_from_a_named_pipe(file_config, tmp_path, capsys) -> None:
    (tmp_path / "bucket" / "sub" / "dead.bin").write_bytes(b"x")
    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w") as handle:
            handle.write('["a.bin"]')

    writer = threading.Thread(target=feed)
    writer.start()
    code, err = run(
        capsys, "gc", "--config", str(file_config), "--live", str(fifo), "--grace", "0s"
    )
    writer.join(timeout=30)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "bucket" / "sub").iterdir()) == ["a.bin"]


def test_a_truncated_pipe_is_refused(file_config, tmp_path) -> None:
    argv = [*_gc_argv(file_config, "-"), "--grace", "0s"]
    done = subprocess.run(argv, input="a.bin\nb.b", capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "has no newline" in one_line(done.stderr)
    assert (tmp_path / "bucket" / "sub" / "a.bin").exists()
