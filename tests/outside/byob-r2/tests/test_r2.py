"""byob-r2, an outside plugin, gets parse, configuration strings, the allow-list, team
create, the deployment matrix, validate, sign, gc and byob:// from its own package (on moto,
which speaks R2's S3 API)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from byob_core import Store, uris
from byob_core.config import from_mapping
from byob_core.errors import ConfigError
from byob_core.testing import ProviderContract

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # byob_aws.testing.SECRET_KEY
TOKEN = "cf-api-token-0123456789"


def r2_uri(endpoint: str, bucket: str, subpath: str = "team", **extra: str) -> str:
    from urllib.parse import quote

    from byob_aws.testing import ACCESS_KEY, REGION

    host = endpoint.split("://", 1)[1]
    query = "&".join(
        [f"region={REGION}", "tls=false", "forcePathStyle=true"]
        + [f"{k}={v}" for k, v in extra.items()]
    )
    return f"r2://{ACCESS_KEY}:{quote(SECRET, safe='')}@{host}/{bucket}/{subpath}?{query}"


def fresh() -> str:
    return f"r2-{uuid.uuid4().hex[:12]}"


class TestR2Contract(ProviderContract):
    @pytest.fixture
    def store(self, moto_endpoint: str) -> Store:
        return uris.parse(r2_uri(moto_endpoint, fresh()), environ={})


def cli(
    *argv: str, tmp_path: Path, config: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BYOB_", "GORILLA_"))}
    environ["BYOB_DATA_DIR"] = str(tmp_path / "data")
    environ.update(env)
    if config is not None:
        path = tmp_path / "byob.toml"
        path.write_text(config)
        environ["BYOB_CONFIG"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "byob_core", *argv],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


class TestFromTheOutside:
    def test_its_own_form_names_the_account(self) -> None:
        store = uris.parse(
            f"r2://AK:c2VjcmV0LWtleQ@0123abcd/ml/wandb?api_token={TOKEN}", environ={}
        )
        assert store.endpoint == "0123abcd.r2.cloudflarestorage.com"
        assert store.region == "auto" and store.extras["account_id"] == "0123abcd"
        assert TOKEN not in repr(store) and store.to_dict()["extras"]["api_token"] == "***"
        assert TOKEN not in uris.format(store, redact=True)
        assert uris.parse(uris.format(store), environ={}) == store

    def test_extras_from_a_toml_table_complete_the_store(self, tmp_path: Path) -> None:
        data = {
            "data_dir": str(tmp_path),
            "teams": {
                "omega": {
                    "provider": "r2",
                    "bucket": "ml",
                    "subpath": "omega",
                    "access_key": "AK",
                    "secret_key": "c2VjcmV0LWtleQ",
                    "extras": {"account_id": "0123abcd", "jurisdiction": "eu"},
                }
            },
        }
        env = {
            "GORILLA_SUPPORTED_FILE_STORES": "r2://AK:c2VjcmV0LWtleQ@0123abcd.eu.r2.cloudflarestorage.com/ml"
        }
        omega = from_mapping(data, environ=env).teams["omega"]
        assert omega.endpoint == "0123abcd.eu.r2.cloudflarestorage.com" and omega.region == "auto"
        data["teams"]["omega"]["extras"] = {}
        with pytest.raises(ConfigError, match=r"teams\.omega\.extras\.account_id: missing"):
            from_mapping(data, environ=env)

    def test_parse_on_the_command_line_hides_the_secrets(self, tmp_path: Path) -> None:
        result = cli(
            "parse", "--json", f"r2://AK:{SECRET}@0123abcd/ml?api_token={TOKEN}", tmp_path=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["provider"] == "r2"
        assert SECRET not in result.stdout and TOKEN not in result.stdout

    @pytest.mark.parametrize("deployment", ["saas"])
    def test_saas_refuses_r2_team_stores(self, deployment: str) -> None:
        data = {
            "deployment": deployment,
            "teams": {"omega": {"store": "r2://AK:c2VjcmV0LWtleQ@0123abcd/ml/o"}},
        }
        with pytest.raises(ConfigError, match=r"teams\.omega.*SaaS row: no S3-compatible stores"):
            from_mapping(
                data,
                environ={"GORILLA_SUPPORTED_FILE_STORES": "r2://AK:c2VjcmV0LWtleQ@0123abcd/ml"},
            )

    def test_an_r2_team_store_must_be_on_the_allow_list(
        self, moto_endpoint: str, tmp_path: Path
    ) -> None:
        data = {
            "data_dir": str(tmp_path),
            "deployment": "dedicated",
            "instance": {"store": "s3://acme/wandb"},
            "teams": {"omega": {"store": r2_uri(moto_endpoint, "ml", "omega")}},
        }
        with pytest.raises(ConfigError, match="must be listed in GORILLA_SUPPORTED_FILE_STORES"):
            from_mapping(data, environ={})
        env = {"GORILLA_SUPPORTED_FILE_STORES": r2_uri(moto_endpoint, "ml", "")}
        assert from_mapping(data, environ=env).teams["omega"].provider == "r2"

    def test_team_create_then_sign_gc_and_byob(self, moto_endpoint: str, tmp_path: Path) -> None:
        import urllib.request

        import fsspec

        bucket = fresh()
        env = {"GORILLA_SUPPORTED_FILE_STORES": r2_uri(moto_endpoint, bucket, "")}
        env.update(
            {
                k: v
                for k, v in __import__("byob_aws.testing", fromlist=["FAKE_ENV"]).FAKE_ENV.items()
            }
        )
        uri = r2_uri(moto_endpoint, bucket, "teams/omega")
        result = cli("team", "create", "omega", "--store", uri, tmp_path=tmp_path, config="", **env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert SECRET not in result.stdout + result.stderr
        result = cli(
            "validate",
            "--team",
            "omega",
            tmp_path=tmp_path,
            **env,
            BYOB_CONFIG=str(tmp_path / "byob.toml"),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        result = cli(
            "sign",
            "--team",
            "omega",
            "--method",
            "PUT",
            "--json",
            "runs/a.bin",
            tmp_path=tmp_path,
            **env,
            BYOB_CONFIG=str(tmp_path / "byob.toml"),
        )
        assert result.returncode == 0, result.stderr
        put = json.loads(result.stdout)[0]
        request = urllib.request.Request(  # noqa: S310 - a signed http URL
            put["url"],
            data=b"payload",
            method="PUT",
            headers={
                "Content-Type": "application/octet-stream",
                **dict(line.split(": ", 1) for line in put["headers"]),
            },
        )
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            mp.setenv("BYOB_CONFIG", str(tmp_path / "byob.toml"))
            mp.setenv("BYOB_DATA_DIR", str(tmp_path / "data"))
            fs = fsspec.filesystem("byob", skip_instance_cache=True)
            assert fs.cat_file("byob://omega/runs/a.bin") == b"payload"
            fs.pipe_file("byob://omega/runs/dead.bin", b"x")
        live = tmp_path / "live.txt"
        live.write_text("runs/a.bin\n")
        result = cli(
            "gc",
            "--team",
            "omega",
            "--live",
            str(live),
            "--grace",
            "0s",
            "--json",
            tmp_path=tmp_path,
            **env,
            BYOB_CONFIG=str(tmp_path / "byob.toml"),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["deleted"] == 1
