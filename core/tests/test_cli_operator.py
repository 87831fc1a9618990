"""The operator's commands over file stores: team list/show/rotate, validate --all, ls/cp/rm
through the byob:// guard, and shell completion."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from byob_core.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "byob.toml"
    path.write_text(
        f"""# operators' configuration
data_dir = "{tmp_path / "state"}"

[instance]
provider = "file"
bucket = "{tmp_path / "instance"}"
subpath = "wandb"

[teams.omega]  # omega keeps its own store
provider = "file"
bucket = "{tmp_path / "omega"}"
subpath = "o"

[teams.lambda]
store = "file://{tmp_path / "lambda"}?subpath=l"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("BYOB_CONFIG", str(path))
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    return path


class TestTeamListAndShow:
    def test_list_shows_every_team_store_and_that_none_was_validated(self, config, capsys) -> None:
        code, out, _ = run(capsys, "team", "list")
        assert code == 0
        assert "omega" in out and "lambda" in out
        assert "never" in out
        code, out, _ = run(capsys, "team", "list", "--json")
        rows = {r["team"]: r for r in json.loads(out)}
        assert set(rows) == {"omega", "lambda"}
        assert rows["omega"]["provider"] == "file"
        assert rows["omega"]["recorded"] is False
        assert rows["omega"]["last_validation"] is None

    def test_show_has_store_record_and_last_validation(self, config, capsys) -> None:
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        assert run(capsys, "validate", "--team", "omega")[0] == 0
        code, out, _ = run(capsys, "team", "show", "omega", "--json")
        assert code == 0
        data = json.loads(out)
        assert data["store"]["subpath"] == "o"
        assert data["record"]["subpath"] == "o"
        assert data["last_validation"]["ok"] is True
        assert "fail" not in data["last_validation"]["counts"]
        code, out, _ = run(capsys, "team", "show", "omega")
        assert "last validation" in out and "OK" in out

    def test_a_failed_validation_is_what_show_reports(self, config, capsys) -> None:
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        assert run(capsys, "validate", "--team", "omega")[0] == 0
        shutil.rmtree(config.parent / "omega", ignore_errors=True)
        (config.parent / "omega").write_text("not a directory")
        assert run(capsys, "validate", "--team", "omega")[0] == 1
        data = json.loads(run(capsys, "team", "show", "omega", "--json")[1])
        assert data["last_validation"]["ok"] is False
        assert data["last_validation"]["failed"]

    def test_show_of_a_team_without_a_store_is_exit_2(self, config, capsys) -> None:
        code, _, err = run(capsys, "team", "show", "kappa")
        assert code == 2
        assert "kappa" in err and "team list" in err


class TestValidateAll:
    def test_every_store_in_one_table_and_exit_1_when_one_fails(self, config, capsys) -> None:
        assert run(capsys, "provision")[0] == 0
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        assert run(capsys, "provision", "--team", "lambda")[0] == 0
        code, out, _ = run(capsys, "validate", "--all")
        assert code == 0, out
        assert "3 of 3 stores OK" in out
        for key in ("instance", "teams.omega", "teams.lambda"):
            assert key in out
        (config.parent / "lambda").rename(config.parent / "gone")
        (config.parent / "lambda").write_text("in the way")
        code, out, _ = run(capsys, "validate", "--all")
        assert code == 1
        assert "2 of 3 stores OK" in out
        line = next(x for x in out.splitlines() if x.startswith("teams.lambda"))
        assert "FAILED" in line
        code, out, _ = run(capsys, "validate", "--all", "--json")
        data = json.loads(out)
        assert code == 1 and data["ok"] is False
        assert data["stores"]["teams.omega"]["ok"] is True
        assert data["stores"]["teams.lambda"]["ok"] is False

    def test_a_store_without_its_plugin_fails_alone(self, config, capsys, monkeypatch) -> None:
        text = config.read_text() + '\n[teams.kappa]\nprovider = "gcp"\nbucket = "kappa-ml"\n'
        config.write_text(text.replace("[instance]", 'cloud = "gcp"\n\n[instance]', 1))
        monkeypatch.setenv("BYOB_DISABLE_PLUGINS", "gcp")
        for name in ("omega", "lambda"):
            assert run(capsys, "provision", "--team", name)[0] == 0
        assert run(capsys, "provision")[0] == 0
        code, out, _ = run(capsys, "validate", "--all", "--json")
        assert code == 1
        stores = json.loads(out)["stores"]
        assert stores["teams.omega"]["ok"] and stores["teams.lambda"]["ok"]
        [finding] = stores["teams.kappa"]["findings"]
        assert finding["check"] == "core.error" and "gcp" in finding["message"]

    def test_all_and_team_together_is_bad_input(self, config, capsys) -> None:
        assert run(capsys, "validate", "--all", "--team", "omega")[0] == 2


class TestLsCpRm:
    def test_upload_list_download_remove(self, config, capsys, tmp_path) -> None:
        local = tmp_path / "a.bin"
        local.write_bytes(b"x" * 5000)
        code, out, _ = run(capsys, "cp", str(local), "byob://omega/runs/a.bin")
        assert code == 0, out
        assert (tmp_path / "omega" / "o" / "runs" / "a.bin").read_bytes() == b"x" * 5000
        code, out, _ = run(capsys, "ls", "byob://omega/runs")
        assert out.split() == ["byob://omega/runs/a.bin"]
        code, out, _ = run(capsys, "ls", "-l", "byob://omega/runs")
        assert "5000" in out
        rows = json.loads(run(capsys, "ls", "--json", "byob://omega/", "-r")[1])
        assert [r["name"] for r in rows] == ["byob://omega/runs/a.bin"]
        back = tmp_path / "back.bin"
        assert run(capsys, "cp", "byob://omega/runs/a.bin", str(back))[0] == 0
        assert back.read_bytes() == b"x" * 5000
        code, out, _ = run(capsys, "rm", "byob://omega/runs/a.bin")
        assert code == 0 and "removed" in out
        assert not (tmp_path / "omega" / "o" / "runs" / "a.bin").exists()

    def test_cp_shows_a_tqdm_bar_on_request(self, config, capsys, tmp_path) -> None:
        local = tmp_path / "b.bin"
        local.write_bytes(b"y" * 3000)
        code, _, err = run(capsys, "cp", "--progress", str(local), "byob://omega/b.bin")
        assert code == 0
        assert "100%" in err

    def test_the_guard_refuses_escapes_in_every_command(self, config, capsys, tmp_path) -> None:
        local = tmp_path / "c.bin"
        local.write_bytes(b"z")
        (tmp_path / "omega").mkdir(exist_ok=True)
        (tmp_path / "omega" / "outside.txt").write_text("keep me")
        for argv in (
            ("cp", str(local), "byob://omega/../outside.txt"),
            ("cp", "byob://omega/../outside.txt", str(tmp_path / "stolen")),
            ("rm", "byob://omega/../outside.txt"),
            ("ls", "byob://omega/.."),
            ("rm", "byob://omega/%2e%2e/outside.txt"),
        ):
            code, out, err = run(capsys, *argv)
            assert code == 2, (argv, out, err)
            assert "Traceback" not in err
        assert (tmp_path / "omega" / "outside.txt").read_text() == "keep me"
        assert not (tmp_path / "stolen").exists()

    def test_teams_cannot_reach_each_other(self, config, capsys, tmp_path) -> None:
        local = tmp_path / "d.bin"
        local.write_bytes(b"omega only")
        assert run(capsys, "cp", str(local), "byob://omega/d.bin")[0] == 0
        code, out, _ = run(capsys, "ls", "byob://lambda/")
        assert code == 0
        assert "d.bin" not in out
        assert run(capsys, "cp", "byob://lambda/d.bin", str(tmp_path / "x"))[0] == 2

    def test_cp_needs_exactly_one_byob_side(self, config, capsys, tmp_path) -> None:
        assert run(capsys, "cp", "a", "b")[0] == 2
        assert run(capsys, "cp", "byob://omega/a", "byob://omega/b")[0] == 2

    def test_rm_of_a_directory_needs_recursive(self, config, capsys, tmp_path) -> None:
        local = tmp_path / "e.bin"
        local.write_bytes(b"e")
        assert run(capsys, "cp", str(local), "byob://omega/dir/e.bin")[0] == 0
        assert run(capsys, "rm", "byob://omega/dir")[0] == 2
        assert run(capsys, "rm", "-r", "byob://omega/dir")[0] == 0
        assert not (tmp_path / "omega" / "o" / "dir" / "e.bin").exists()


class TestRotate:
    def test_new_credentials_are_validated_and_written_with_comments_kept(
        self, config, capsys
    ) -> None:
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        code, out, _ = run(
            capsys, "team", "rotate", "omega", "--set", "access_key=AKIANEWKEY", "--json"
        )
        assert code == 0, out
        data = json.loads(out)
        assert data["changed"] == ["access_key"] and data["written"] is True
        text = config.read_text()
        assert 'access_key = "AKIANEWKEY"' in text
        assert "# omega keeps its own store" in text
        # The store is the same place: provisioning and validation accept it.
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        assert run(capsys, "validate", "--team", "omega")[0] == 0

    def test_a_secret_set_from_stdin_is_never_printed(self, config, capsys, monkeypatch) -> None:
        import io

        secret = "s3cr3t-rotated-Zq9xWv/abc+def=="
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
        code, out, err = run(capsys, "team", "rotate", "omega", "--set", "secret_key=-")
        assert code == 0
        assert secret not in out and secret not in err
        assert secret in config.read_text()

    def test_changing_where_the_store_is_is_refused(self, config, capsys, tmp_path) -> None:
        before = config.read_text()
        code, _, err = run(capsys, "team", "rotate", "omega", "--set", "bucket=/elsewhere")
        assert code == 2 and "not a credential field" in err
        code, _, err = run(
            capsys, "team", "rotate", "lambda", "--store", f"file://{tmp_path / 'other'}?subpath=l"
        )
        assert code == 2 and "migration" in err
        assert config.read_text() == before

    def test_credentials_that_fail_validation_are_not_written(self, config, capsys) -> None:
        # A store whose directory is in the way fails the probe: the file stays as it was.
        (config.parent / "omega").write_text("in the way")
        before = config.read_text()
        code, out, _ = run(capsys, "team", "rotate", "omega", "--set", "access_key=AKIAOTHER")
        assert code == 1
        assert "unchanged" in out
        assert config.read_text() == before

    def test_an_edit_of_only_credential_fields_is_not_a_migration(self, config, capsys) -> None:
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        text = config.read_text().replace('subpath = "o"', 'subpath = "o"\nsecret_key = "edited"')
        config.write_text(text)
        assert run(capsys, "provision", "--team", "omega")[0] == 0
        assert run(capsys, "validate", "--team", "omega")[0] == 0
        config.write_text(text.replace('subpath = "o"', 'subpath = "o2"'))
        code, _, err = run(capsys, "provision", "--team", "omega")
        assert code == 2 and "migration" in err

    def test_an_unknown_team_is_exit_2(self, config, capsys) -> None:
        assert run(capsys, "team", "rotate", "kappa", "--set", "access_key=x")[0] == 2


class TestCompletion:
    @pytest.mark.parametrize("shell", ["bash", "zsh"])
    def test_the_script_names_every_command(self, shell, capsys) -> None:
        code, out, _ = run(capsys, "completion", shell)
        assert code == 0
        for word in ("validate", "sign", "team", "rotate", "cp", "--all", "--json"):
            assert word in out

    def test_bash_completes_commands_and_options(self, capsys, tmp_path) -> None:
        script = run(capsys, "completion", "bash")[1]
        bash = shutil.which("bash")
        assert bash, "bash is needed for this test"
        probe = (
            script
            + '\nCOMP_WORDS=(byob val); COMP_CWORD=1; _byob_complete; echo "${COMPREPLY[*]}"'
            + '\nCOMP_WORDS=(byob validate --a); COMP_CWORD=2; _byob_complete; echo "${COMPREPLY[*]}"'
            + '\nCOMP_WORDS=(byob team ro); COMP_CWORD=2; _byob_complete; echo "${COMPREPLY[*]}"'
        )
        result = subprocess.run(
            [bash, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PATH": os.environ.get("PATH", "")},
        )
        lines = result.stdout.splitlines()
        assert lines[-3] == "validate"
        assert lines[-2] == "--all"
        assert lines[-1] == "rotate"
        assert sys.executable  # the script needs no Python to complete


class TestNoSecretInOperatorOutput:
    SECRETS = (
        "opScanSecret/AWS+abc=def0123456789",
        "opScanClientSecret~Zq9xWvK3.abc",
        "opScanAccountKey0123456789/abcdefghij+KLMN==",
    )

    def test_every_operator_command_keeps_secrets_out(self, config, capsys, tmp_path) -> None:
        aws, entra, azure = self.SECRETS
        text = config.read_text().replace(
            'subpath = "o"',
            f'subpath = "o"\nsecret_key = "{aws}"\nclient_secret = "{entra}"\naccount_key = "{azure}"',
        )
        config.write_text(text)
        local = tmp_path / "f.bin"
        local.write_bytes(b"f")
        printed = []
        for argv in (
            ("provision", "--team", "omega", "--json"),
            ("team", "list"),
            ("team", "list", "--json"),
            ("team", "show", "omega"),
            ("team", "show", "omega", "--json"),
            ("validate", "--all"),
            ("validate", "--all", "--json"),
            ("cp", "--progress", str(local), "byob://omega/f.bin"),
            ("ls", "-l", "byob://omega/"),
            ("rm", "byob://omega/f.bin", "--json"),
            ("team", "rotate", "omega", "--set", f"secret_key={aws}x", "--json"),
            ("team", "rotate", "omega", "--set", f"bucket={aws}", "--json"),
            ("team", "show", "omega", "--json", f"--bogus={entra}"),
        ):
            code, out, err = run(capsys, *argv)
            printed.append((argv, code, out + err))
        for argv, _, output in printed:
            for secret in self.SECRETS:
                assert secret not in output, (argv, secret)
        assert printed[-1][1] == 2 and json.loads(printed[-1][2].split("\n", 1)[0])["exit"] == 2
