"""The verbs on the command line: exit codes, JSON shapes, team creation, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from byob_core.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "byob.toml"
    path.write_text(
        f"""# the instance keeps everything under wandb/
data_dir = "{tmp_path / "state"}"

[instance]
provider = "file"
bucket = "{tmp_path / "instance"}"
subpath = "wandb"

[teams.omega]  # omega has its own store
store = "file://{tmp_path / "omega"}?subpath=o"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("BYOB_CONFIG", str(path))
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    return path


class TestValidateCommand:
    def test_unprovisioned_store_fails_with_exit_1(
        self, config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "validate", "--json")
        assert code == 1
        assert json.loads(out)["ok"] is False

    def test_provisioned_store_passes(
        self, config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        code, out, _ = run(capsys, "validate", "--team", "omega", "--json")
        data = json.loads(out)
        assert code == 0
        assert data["ok"] is True
        assert data["store"]["provider"] == "file"
        assert {f["check"] for f in data["findings"]} >= {"core.marker", "core.probe.write"}

    def test_table_on_a_terminal(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        run(capsys, "provision")
        code, out, _ = run(capsys, "validate", "--read-only")
        assert code == 0
        assert "PASS" in out
        assert "SKIP" in out
        assert "result: OK" in out


class TestPlanAndProvision:
    def test_plan_changes_nothing_then_provision_then_nothing_left(
        self, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "plan", "--team", "omega", "--json")
        assert code == 0
        assert any(c["action"] == "create" for c in json.loads(out)["changes"])
        assert not (tmp_path / "omega").exists()
        run(capsys, "provision", "--team", "omega")
        code, out, _ = run(capsys, "provision", "--team", "omega", "--json")
        assert [c["name"] for c in json.loads(out)["changes"] if c["action"] != "none"] == []


class TestSignCommand:
    def test_file_store_cannot_sign_exit_2(
        self, config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "sign", "a/b.bin")
        assert code == 2
        assert out == ""
        assert "cannot sign" in err
        assert "Traceback" not in err

    def test_bad_time_is_exit_2(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "sign", "a", "--at", "yesterday")
        assert code == 2
        assert "ISO-8601" in err

    def test_escaping_key_is_exit_2(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "sign", "--team", "omega", "../../etc/passwd")
        assert code == 2
        assert "'..'" in err


class TestUploadPlanCommand:
    @pytest.mark.parametrize(
        ("size", "multipart", "parts"),
        [("500MiB", False, 1), ("3GiB", True, 31), ("2147483648", True, 21), ("1000", False, 1)],
    )
    def test_sizes_with_units_and_the_threshold(
        self,
        config: Path,
        capsys: pytest.CaptureFixture[str],
        size: str,
        multipart: bool,
        parts: int,
    ) -> None:
        code, out, _ = run(capsys, "upload-plan", size, "--team", "omega", "--json")
        assert code == 0
        data = json.loads(out)
        assert (data["multipart"], data["parts"]) == (multipart, parts)

    def test_a_bad_size_is_exit_2_naming_the_forms(
        self, config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "upload-plan", "3 gigs")
        assert code == 2 and not out
        assert "'3 gigs' is not a size" in err and "3GiB" in err
        assert len(err.strip().splitlines()) == 1


class TestTeamCreate:
    def test_creates_the_team_keeping_comments(
        self, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(
            capsys,
            "team",
            "create",
            "zeta",
            "--provider",
            "file",
            "--bucket",
            str(tmp_path / "zeta"),
            "--subpath",
            "z",
        )
        assert code == 0, out
        text = config.read_text()
        assert "# omega has its own store" in text
        assert "# the instance keeps everything under wandb/" in text
        assert "[teams.zeta]" in text
        assert (tmp_path / "zeta" / "z" / ".byob" / "store.json").is_file()
        code, out, _ = run(capsys, "resolve", "--team", "zeta", "x", "--json")
        assert json.loads(out)["scope"] == "team"

    def test_refuses_to_change_an_existing_team(
        self, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = config.read_text()
        code, _, err = run(
            capsys, "team", "create", "omega", "--store", f"file://{tmp_path / 'elsewhere'}"
        )
        assert code == 2
        assert "migration" in err
        assert config.read_text() == before

    def test_s3_compatible_store_needs_the_allow_list(
        self, config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("GORILLA_SUPPORTED_FILE_STORES", raising=False)
        before = config.read_text()
        code, _, err = run(
            capsys,
            "team",
            "create",
            "mio",
            "--store",
            "s3://AKIAEXAMPLE:s3cr3t%2Fvalue@minio.internal:9000/ml?region=us-east-1",
        )
        assert code == 2
        assert "GORILLA_SUPPORTED_FILE_STORES" in err
        assert "s3cr3t" not in err
        assert config.read_text() == before

    def test_a_store_serving_another_team_is_refused(
        self, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run(capsys, "provision", "--team", "omega")
        code, _, err = run(
            capsys, "team", "create", "kappa2", "--store", f"file://{tmp_path / 'omega'}?subpath=o"
        )
        assert code == 2
        assert "already serve team 'omega'" in err

    def test_shared_bucket_and_subpath_warns(
        self, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, out, _ = run(
            capsys,
            "team",
            "create",
            "kappa3",
            "--provider",
            "file",
            "--bucket",
            str(tmp_path / "instance"),
            "--subpath",
            "wandb",
        )
        assert "share" in out

    def test_a_store_failing_validation_is_not_recorded(
        self, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = config.read_text()
        code, out, _ = run(
            capsys,
            "team",
            "create",
            "eta",
            "--no-provision",
            "--provider",
            "file",
            "--bucket",
            str(tmp_path / "never-made"),
        )
        assert code == 1
        assert "NOT created" in out
        assert config.read_text() == before

    def test_bad_team_name_is_exit_2(
        self, config: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(
            capsys, "team", "create", "_instance", "--provider", "file", "--bucket", "/tmp/x"
        )
        assert code == 2
        assert "team name" in err


class TestDemo:
    def _run(self, tmp_path: Path, *prelude: str) -> dict[str, object]:
        env = {**os.environ, "TMPDIR": str(tmp_path)}
        code = "; ".join(
            [
                *prelude,
                "from byob_core.cli import main",
                "raise SystemExit(main(['demo', '--json']))",
            ]
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["visibility"] == {
            "omega reads kappa": True,
            "kappa reads omega": False,
            "omega reads omega": True,
        }
        assert summary["gc"]["remaining"] == ["runs/o1/model.bin"]
        assert all(v["ok"] for v in summary["validation"].values())
        assert list(tmp_path.iterdir()) == [], "the demo must clean up after itself"
        return summary

    def test_demo_runs_on_a_local_s3_endpoint_and_cleans_up(self, tmp_path: Path) -> None:
        assert "local S3 endpoint" in str(self._run(tmp_path)["stores_on"])

    def test_demo_falls_back_to_a_local_directory(self, tmp_path: Path) -> None:
        summary = self._run(tmp_path, "import sys", "sys.modules['byob_minio.demo'] = None")
        assert summary["stores_on"] == "a local directory"
