"""The rules checked where a store is used, on every verb and on ``byob://``:

- immutability: a team's store must stay where `team create` recorded it (provider,
  bucket or container, account, sub-path, endpoint); keys may rotate;
- the visibility rule, where a caller names the reading team (``sign --reader``,
  ``Byob.sign(reader=...)``, the ``reader`` storage option of ``byob://``).

Signing on S3 needs no server (SigV4 is computed locally), so these run without one;
the ``byob://`` checks run on file stores and, for S3, on a moto server.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import fsspec
import pytest
from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
from byob_core.api import Byob
from byob_core.cli import main
from byob_core.config import load
from byob_core.errors import StoreChangedError, VisibilityError
from byob_core.fs import ByobFileSystem
from byob_core.records import TeamRecords

AWS_HOST = "s3.us-east-1.amazonaws.com"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GORILLA_SUPPORTED_FILE_STORES", raising=False)
    path = tmp_path / "byob.toml"
    monkeypatch.setenv("BYOB_CONFIG", str(path))
    return path


# -- immutability at the point of use ------------------------------------------------------


@pytest.fixture
def created(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A configuration whose team zeta was made by `team create` (file store, sub-path z)."""
    env.write_text(
        f"""data_dir = "{tmp_path / "state"}"

[instance]
provider = "file"
bucket = "{tmp_path / "instance"}"
subpath = "wandb"
""",
        encoding="utf-8",
    )
    code, out, err = run(
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
    assert code == 0, out + err
    assert "[teams.zeta]" in env.read_text()
    return env


def move_zeta(config: Path, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")


class TestTeamCreateRecords:
    def test_team_create_records_where_the_store_is(self, created: Path, tmp_path: Path) -> None:
        record = TeamRecords(tmp_path / "state").get("zeta")
        assert record is not None
        assert (record["provider"], record["bucket"], record["subpath"]) == (
            "file",
            str(tmp_path / "zeta"),
            "z",
        )

    def test_a_team_created_without_provisioning_is_recorded_too(
        self, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        store = tmp_path / "eta"
        (store / "e").mkdir(parents=True)
        code, out, err = run(
            capsys,
            "team",
            "create",
            "eta",
            "--store",
            f"file://{store}?subpath=e",
            "--no-provision",
        )
        assert code == 0, out + err
        assert TeamRecords(tmp_path / "state").get("eta") is not None

    def test_a_team_that_failed_validation_leaves_no_record(
        self,
        env: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Otherwise a corrected second attempt would be refused as a moved store."""
        from byob_core.findings import Finding

        with monkeypatch.context() as patch:  # a probe the store refuses (no server fakes it)
            patch.setattr(
                Byob, "_probe", lambda *a, **k: [Finding.failed("core.probe.write", "refused")]
            )
            code, out, _ = run(
                capsys, "team", "create", "theta", "--store", f"file://{tmp_path / 'a'}?subpath=t"
            )
        assert code == 1 and "NOT created" in out
        assert TeamRecords(tmp_path / "state").get("theta") is None
        code, out, err = run(
            capsys, "team", "create", "theta", "--store", f"file://{tmp_path / 'b'}?subpath=t"
        )
        assert code == 0, out + err
        assert TeamRecords(tmp_path / "state").get("theta")["bucket"] == str(tmp_path / "b")


VERBS = [
    ("validate", "--team", "zeta"),
    ("plan", "--team", "zeta"),
    ("provision", "--team", "zeta"),
    ("sign", "--team", "zeta", "runs/a.bin"),
    ("upload-plan", "--team", "zeta", "3GiB"),
    ("resolve", "--team", "zeta", "runs/a.bin"),
]


class TestEveryVerbRefusesAMovedStore:
    @pytest.mark.parametrize("argv", VERBS, ids=lambda a: a[0])
    def test_a_changed_subpath_is_refused_naming_the_difference(
        self, created: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
    ) -> None:
        move_zeta(created, 'subpath = "z"', 'subpath = "elsewhere"')
        code, out, err = run(capsys, *argv)
        assert code == 2, out + err
        line = one_line_error(err)
        assert "team 'zeta' was created with store" in line
        assert "subpath 'z' recorded, 'elsewhere' configured" in line
        assert "restore the recorded location in [teams.zeta]" in line
        assert "migrat" in line

    def test_gc_refuses_and_deletes_nothing(
        self, created: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        old = tmp_path / "zeta" / "z" / "old.bin"
        old.write_bytes(b"x")
        moved = tmp_path / "zeta" / "moved"
        moved.mkdir()
        (moved / "victim.bin").write_bytes(b"y")
        live = tmp_path / "live.txt"
        live.write_text("nothing\n")
        move_zeta(created, 'subpath = "z"', 'subpath = "moved"')
        code, _, err = run(capsys, "gc", "--team", "zeta", "--live", str(live), "--grace", "0s")
        assert code == 2
        assert "subpath 'z' recorded, 'moved' configured" in one_line_error(err)
        assert (moved / "victim.bin").exists() and old.exists()

    def test_another_bucket_is_refused(
        self, created: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        move_zeta(created, str(tmp_path / "zeta"), str(tmp_path / "zeta2"))
        code, _, err = run(capsys, "validate", "--team", "zeta")
        assert code == 2
        assert "differs in bucket" in one_line_error(err)

    def test_a_team_whose_store_was_removed_from_the_config_is_refused(
        self, created: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Else its reads and writes would silently go to the instance store."""
        text = created.read_text()
        created.write_text(text[: text.index("[teams.zeta]")], encoding="utf-8")
        code, _, err = run(capsys, "upload-plan", "--team", "zeta", "1MiB")
        assert code == 2
        assert "gives it none now" in one_line_error(err)

    def test_the_unchanged_store_works(
        self, created: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run(capsys, "validate", "--team", "zeta")[0] == 0
        assert run(capsys, "provision", "--team", "zeta")[0] == 0

    def test_byob_paths_refuse_reads_and_writes(self, created: Path, tmp_path: Path) -> None:
        fsspec.filesystem("byob", config=str(created)).pipe_file("byob://zeta/a.txt", b"hi")
        move_zeta(created, 'subpath = "z"', 'subpath = "moved"')
        fs = fsspec.filesystem("byob", config=str(created))
        with pytest.raises(PermissionError, match="subpath 'z' recorded, 'moved' configured"):
            fs.cat_file("byob://zeta/a.txt")
        with pytest.raises(PermissionError, match="created with store"):
            fsspec.open("byob://zeta/b.txt", "wb", config=str(created)).open()
        with pytest.raises(PermissionError):
            fs.ls("zeta")
        assert not (tmp_path / "zeta" / "moved").exists()


AWS_TEAM = {
    "provider": "aws",
    "bucket": "omega-ml",
    "subpath": "o",
    "region": "us-east-1",
    "access_key": "AKIAFIRSTKEY0000",
    "secret_key": "first/secret/key/value",
}


def aws_config(path: Path, tmp_path: Path, **team: str) -> Path:
    fields = {**AWS_TEAM, **team}
    body = "\n".join(f'{k} = "{v}"' for k, v in fields.items())
    path.write_text(
        f"""data_dir = "{tmp_path / "state"}"
cloud = "aws"

[instance]
store = "s3://{ACCESS_KEY}:{SECRET_KEY}@{AWS_HOST}/acme/wandb"

[teams.omega]
{body}
""",
        encoding="utf-8",
    )
    return path


class TestSignChecksTheRecord:
    """`sign` on an S3 team store: the record is checked where the store is resolved."""

    @pytest.fixture
    def recorded(self, env: Path, tmp_path: Path) -> Path:
        aws_config(env, tmp_path)
        config = load(env)
        TeamRecords(config.data_dir).record("omega", config.teams["omega"])
        return env

    def test_rotated_keys_are_not_a_move(
        self, recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        aws_config(
            recorded, tmp_path, access_key="AKIASECONDKEY000", secret_key="second/secret/value"
        )
        code, out, err = run(capsys, "sign", "--team", "omega", "a.bin", "--json")
        assert code == 0, err
        url = json.loads(out)[0]["url"]
        assert "/omega-ml/o/a.bin" in url or url.startswith("https://omega-ml.")

    @pytest.mark.parametrize(
        ("field", "value", "named"),
        [
            ("bucket", "omega-other", "bucket 'omega-ml' recorded, 'omega-other' configured"),
            ("subpath", "o2", "subpath 'o' recorded, 'o2' configured"),
            ("provider", "minio", "provider 'aws' recorded, 'minio' configured"),
        ],
    )
    def test_a_moved_store_is_refused_by_the_cli_and_the_api(
        self,
        recorded: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        field: str,
        value: str,
        named: str,
    ) -> None:
        extra = {field: value}
        if value == "minio":
            extra["endpoint"] = "http://minio.internal:9000"
            monkeypatch.setenv(
                "GORILLA_SUPPORTED_FILE_STORES",
                "s3://AKIASECONDKEY000:x@minio.internal:9000/omega-ml?region=us-east-1",
            )
        aws_config(recorded, tmp_path, **extra)
        code, out, err = run(capsys, "sign", "--team", "omega", "a.bin")
        assert code == 2 and not out
        line = one_line_error(err)
        assert named in line
        assert "first/secret" not in line
        byob = Byob.from_env(recorded)
        with pytest.raises(StoreChangedError, match=named):
            byob.sign(["a.bin"], team="omega")
        # The same key, signed again: a cached signer must not skip the check.
        with pytest.raises(StoreChangedError):
            byob.sign(["b.bin"], team="omega")

    def test_a_record_written_after_loading_is_still_checked(
        self, env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A long-lived `Byob` (a server) sees `team create` of another process: at once
        where the store is resolved, and within `RECHECK_SECONDS` on the cached sign path."""
        import time

        from byob_core import api

        aws_config(env, tmp_path)
        byob = Byob.from_env(env)
        assert byob.sign(["a.bin"], team="omega")
        signer = byob.signer("omega")
        assert signer.sign(["a.bin"])
        moved = load(aws_config(tmp_path / "other.toml", tmp_path, subpath="elsewhere"))
        TeamRecords(tmp_path / "state").record("omega", moved.teams["omega"])
        with pytest.raises(StoreChangedError, match="subpath 'elsewhere' recorded, 'o'"):
            byob.upload_plan("1MiB", team="omega")
        later = time.monotonic() + api.RECHECK_SECONDS + 1
        monkeypatch.setattr(api.time, "monotonic", lambda: later)
        with pytest.raises(StoreChangedError, match="subpath 'elsewhere' recorded, 'o'"):
            byob.sign(["a.bin"], team="omega")
        with pytest.raises(StoreChangedError):
            signer.sign(["a.bin"])


# -- the visibility rule where data is read --------------------------------------------------


def seed_config(path: Path, tmp_path: Path, *, readable: bool) -> Path:
    """The product's example on S3: the instance and kappa share the instance store; omega
    has its own."""
    path.write_text(
        f"""data_dir = "{tmp_path / "state"}"
cloud = "aws"

[organization]
instance_readable_by_teams = {"true" if readable else "false"}

[instance]
store = "s3://{ACCESS_KEY}:{SECRET_KEY}@{AWS_HOST}/acme/wandb"

[teams.kappa]

[teams.omega]
store = "s3://{ACCESS_KEY}:{SECRET_KEY}@{AWS_HOST}/omega-ml/o"
""",
        encoding="utf-8",
    )
    return path


class TestSignReader:
    @pytest.mark.parametrize(
        ("readable", "team", "reader", "allowed"),
        [
            (False, "kappa", "omega", False),
            (False, "_instance", "omega", False),
            (False, "kappa", "kappa", True),
            (False, "omega", "omega", True),
            (False, "omega", "kappa", False),
            (True, "kappa", "omega", True),
            (True, "_instance", "omega", True),
            (True, "omega", "kappa", False),
        ],
    )
    def test_the_rule_decides(
        self,
        env: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        readable: bool,
        team: str,
        reader: str,
        allowed: bool,
    ) -> None:
        seed_config(env, tmp_path, readable=readable)
        code, out, err = run(capsys, "sign", "--team", team, "--reader", reader, "a.bin")
        if allowed:
            assert code == 0, err
            assert out.startswith("GET https://")
            return
        assert code == 2 and not out
        line = one_line_error(err)
        assert f"team {reader!r} may not read" in line
        if team == "omega":
            assert "which only 'omega' reads (the visibility rule)" in line
        else:
            assert "organization.instance_readable_by_teams = false" in line

    def test_without_a_reader_nothing_is_checked(
        self, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        seed_config(env, tmp_path, readable=False)
        assert run(capsys, "sign", "--team", "kappa", "a.bin")[0] == 0

    def test_a_bad_reader_name_is_exit_2(
        self, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        seed_config(env, tmp_path, readable=True)
        code, _, err = run(capsys, "sign", "--team", "kappa", "--reader", "../x", "a.bin")
        assert code == 2
        assert "invalid team name" in one_line_error(err)

    def test_the_api_refuses_as_the_cli_does(self, env: Path, tmp_path: Path) -> None:
        byob = Byob.from_env(seed_config(env, tmp_path, readable=False))
        with pytest.raises(VisibilityError, match="instance_readable_by_teams = false"):
            byob.sign(["a.bin"], team="kappa", reader="omega")
        with pytest.raises(VisibilityError):  # a second call, as a cached signer would see it
            byob.sign(["b.bin"], team="kappa", reader="omega")
        with pytest.raises(VisibilityError):
            byob.signer("kappa", reader="omega")
        with pytest.raises(VisibilityError):  # the path with extra request fields
            byob.sign(["a.bin"], team="kappa", reader="omega", content_type="text/plain")
        assert byob.signer("kappa", reader="kappa").sign(["a.bin"])
        signed = byob.sign(["a.bin"], team="kappa", reader="kappa")
        query = parse_qs(urlsplit(signed[0].url).query)
        assert query["X-Amz-Credential"][0].startswith(ACCESS_KEY)
        assert byob.sign(["a.bin"], team="omega", reader="omega")


def file_seed(tmp_path: Path, *, readable: bool) -> dict:
    return {
        "data_dir": str(tmp_path / "state"),
        "organization": {"instance_readable_by_teams": readable},
        "instance": {"provider": "file", "bucket": str(tmp_path / "inst"), "subpath": "w"},
        "teams": {
            "kappa": {},
            "omega": {"provider": "file", "bucket": str(tmp_path / "omega"), "subpath": "o"},
        },
    }


class TestByobReader:
    """The ``reader`` storage option: the visibility rule on every ``byob://`` path."""

    def test_reads_of_hidden_teams_are_refused(self, tmp_path: Path) -> None:
        data = file_seed(tmp_path, readable=False)
        writer = ByobFileSystem(config_data=data)
        writer.pipe_file("kappa/a.txt", b"kappa's")
        writer.pipe_file("omega/a.txt", b"omega's")
        omega = fsspec.filesystem("byob", config_data=data, reader="omega")
        assert omega.cat_file("byob://omega/a.txt") == b"omega's"
        for path in ("byob://kappa/a.txt", "byob://_instance/a.txt"):
            with pytest.raises(PermissionError, match="instance_readable_by_teams = false"):
                omega.cat_file(path)
        with pytest.raises(PermissionError):
            omega.ls("kappa")
        with pytest.raises(PermissionError):
            fsspec.open("byob://kappa/a.txt", "rb", config_data=data, reader="omega").open()
        assert omega.ls("", detail=False) == ["omega"]
        kappa = fsspec.filesystem("byob", config_data=data, reader="kappa")
        assert kappa.cat_file("byob://kappa/a.txt") == b"kappa's"
        with pytest.raises(PermissionError, match="the visibility rule"):
            kappa.cat_file("byob://omega/a.txt")

    def test_the_organisation_may_open_the_instance_store(self, tmp_path: Path) -> None:
        data = file_seed(tmp_path, readable=True)
        ByobFileSystem(config_data=data).pipe_file("kappa/a.txt", b"kappa's")
        omega = ByobFileSystem(config_data=data, reader="omega")
        assert omega.cat_file("kappa/a.txt") == b"kappa's"
        assert sorted(omega.ls("", detail=False)) == ["_instance", "omega"]

    def test_a_bad_reader_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="invalid team name"):
            ByobFileSystem(config_data=file_seed(tmp_path, readable=True), reader="a/b")


@pytest.fixture(scope="module")
def moto():
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            import boto3

            client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
            )
            for bucket in ("pou-inst", "pou-omega"):
                client.create_bucket(Bucket=bucket)
            yield endpoint


class TestOnS3:
    """Both rules on ``byob://`` over s3fs and a moto server."""

    def _config(self, endpoint: str, tmp_path: Path, subpath: str) -> dict:
        def store(bucket: str, sub: str) -> dict:
            return {
                "provider": "aws",
                "bucket": bucket,
                "subpath": sub,
                "endpoint": endpoint,
                "region": REGION,
                "path_style": True,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
            }

        return {
            "data_dir": str(tmp_path / "state"),
            "organization": {"instance_readable_by_teams": False},
            "instance": store("pou-inst", "w"),
            "teams": {"kappa": {}, "omega": store("pou-omega", subpath)},
        }

    def test_reader_and_record_on_s3(self, moto: str, tmp_path: Path) -> None:
        data = self._config(moto, tmp_path, "o")
        fs = ByobFileSystem(config_data=data)
        fs.pipe_file("kappa/a.txt", b"kappa's")
        fs.pipe_file("omega/a.txt", b"omega's")
        omega = ByobFileSystem(config_data=data, reader="omega")
        assert omega.cat_file("omega/a.txt") == b"omega's"
        with pytest.raises(PermissionError, match="instance_readable_by_teams"):
            omega.cat_file("kappa/a.txt")
        records = TeamRecords(tmp_path / "state")
        records.record("omega", Byob(load_data(data)).config.teams["omega"])
        moved = ByobFileSystem(config_data=self._config(moto, tmp_path, "o-moved"))
        with pytest.raises(PermissionError, match="subpath 'o' recorded, 'o-moved' configured"):
            moved.pipe_file("omega/b.txt", b"x")
        with pytest.raises(PermissionError):
            moved.sign("omega/a.txt")


def load_data(data: dict):
    from byob_core.config import from_mapping

    return from_mapping(data)
