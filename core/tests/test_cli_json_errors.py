"""With ``--json`` a failure prints exactly one JSON object on stdout, ``{"error", "hint",
"exit"}``, whatever failed: argument parsing, configuration, a refused key, a store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from byob_core.cli import main

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def only_json(out: str) -> dict[str, object]:
    """stdout is one JSON object and nothing else."""
    data = json.loads(out)
    assert isinstance(data, dict)
    assert set(data) == {"error", "hint", "exit"}
    return data


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "byob.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\n[instance]\nprovider = "file"\n'
        f'bucket = "{tmp_path / "instance"}"\nsubpath = "wandb"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("BYOB_CONFIG", str(path))
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    return path


class TestJsonErrors:
    def test_an_argparse_error_is_json_too(self, config: Path, capsys) -> None:
        code, out, err = run(capsys, "sign", "--json")
        assert code == 2
        data = only_json(out)
        assert data["exit"] == 2
        assert "KEY" in data["error"]
        assert data["hint"]
        assert "error" in err  # the human line still goes to stderr

    def test_an_unknown_option_is_json(self, config: Path, capsys) -> None:
        code, out, _ = run(capsys, "resolve", "a", "--json", "--nope")
        assert code == 2
        assert "--nope" in only_json(out)["error"]

    def test_an_unsafe_key_gives_error_and_hint(self, config: Path, capsys) -> None:
        code, out, _ = run(capsys, "resolve", "../x", "--json")
        assert code == 2
        data = only_json(out)
        assert data["exit"] == 2
        assert "'..'" in data["error"]
        assert data["hint"] and data["hint"] not in data["error"]

    def test_a_bad_configuration_names_the_setting(self, config: Path, capsys) -> None:
        config.write_text("deployment = 'cloudy'\n", encoding="utf-8")
        code, out, _ = run(capsys, "validate", "--json")
        assert code == 2
        assert "deployment" in only_json(out)["error"]

    def test_a_secret_in_the_input_never_reaches_the_json(self, config: Path, capsys) -> None:
        code, out, err = run(capsys, "parse", f"s3://AKIAX:{SECRET}@/", "--json")
        assert code == 2
        only_json(out)
        assert SECRET not in out and SECRET not in err

    def test_without_json_the_one_line_stays(self, config: Path, capsys) -> None:
        code, out, err = run(capsys, "resolve", "../x")
        assert code == 2
        assert out == ""
        assert err.startswith("error: ") and err.count("\n") == 1

    def test_a_failing_command_in_a_fresh_process(self, config: Path, tmp_path: Path) -> None:
        env = {**os.environ, "BYOB_CONFIG": str(config)}
        result = subprocess.run(
            [sys.executable, "-m", "byob_core", "--json", "sign", "--team", "no team", "k"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 2
        assert only_json(result.stdout)["exit"] == 2
        assert "Traceback" not in result.stderr
