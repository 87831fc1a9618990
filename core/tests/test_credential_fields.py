"""The credential fields a store table takes: identity sources besides keys, how they
count, that secrets among them are redacted, and that rotating between them is accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from byob_core import ConfigError, secrets
from byob_core.config import load
from byob_core.stores import CREDENTIAL_FIELDS, IDENTITY_FIELDS, KEY_FIELDS, Credentials


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "byob.toml"
    path.write_text(f'data_dir = "{tmp_path / "state"}"\n' + text, encoding="utf-8")
    return path


class TestIdentityFields:
    def test_a_toml_table_takes_every_identity_field(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """
cloud = "aws"
[instance]
provider = "file"
bucket = "/tmp/x"

[teams.aws-role]
provider = "aws"
bucket = "omega-ml"
role_arn = "arn:aws:iam::111122223333:role/byob"
external_id = "ext-1"
role_session_name = "byob-omega"
role_duration = 3600

[teams.aws-profile]
provider = "aws"
bucket = "lambda-ml"
profile = "team-lambda"

[teams.aws-wi]
provider = "aws"
bucket = "wi-ml"
role_arn = "arn:aws:iam::111122223333:role/byob"
web_identity_token_file = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
""",
        )
        config = load(path, environ={})
        role = config.teams["aws-role"].credentials
        assert (role.role_arn, role.external_id, role.role_duration) == (
            "arn:aws:iam::111122223333:role/byob",
            "ext-1",
            "3600",
        )
        assert not role  # no keys: identity fields alone are not "carried keys"
        assert config.teams["aws-profile"].credentials.profile == "team-lambda"
        assert config.teams["aws-wi"].credentials.web_identity_token_file.endswith("/token")
        shown = config.teams["aws-role"].to_dict()
        assert shown["has_credentials"] is False
        assert "role_arn" in shown["credential_fields"]

    def test_an_out_of_range_duration_names_the_field(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            '[instance]\nprovider = "aws"\nbucket = "b"\nrole_arn = "arn:x"\nrole_duration = 60\n',
        )
        with pytest.raises(ConfigError, match="role_duration"):
            load(path, environ={})

    def test_client_secret_is_a_secret(self) -> None:
        creds = Credentials(client_secret="entra-app-secret~0123456789abcdef")
        assert creds  # an application secret is key material
        assert "entra-app-secret" not in repr(creds)
        assert "entra-app-secret~0123456789abcdef" not in secrets.redact(
            "x entra-app-secret~0123456789abcdef y"
        )
        assert creds.secret_values == ("entra-app-secret~0123456789abcdef",)

    def test_the_field_lists(self) -> None:
        assert set(CREDENTIAL_FIELDS) == set(KEY_FIELDS) | set(IDENTITY_FIELDS)
        for name in ("profile", "role_arn", "impersonate_service_account", "federated_token_file"):
            assert name in IDENTITY_FIELDS


class TestRotateBetweenIdentities:
    def test_from_keys_to_a_role_is_a_rotation(self, tmp_path: Path, capsys, monkeypatch) -> None:
        from byob_core.cli import main

        path = write(
            tmp_path,
            f"""
[instance]
provider = "file"
bucket = "{tmp_path / "instance"}"

[teams.omega]
provider = "file"
bucket = "{tmp_path / "omega"}"
access_key = "AKIAOLDKEY"
secret_key = "old/secret/value0123"
""",
        )
        monkeypatch.setenv("BYOB_CONFIG", str(path))
        assert main(["provision", "--team", "omega"]) == 0
        capsys.readouterr()
        code = main(
            [
                "team",
                "rotate",
                "omega",
                "--json",
                "--unset",
                "access_key",
                "--unset",
                "secret_key",
                "--set",
                "role_arn=arn:aws:iam::111122223333:role/byob",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        data = json.loads(out)
        assert sorted(data["changed"]) == ["access_key", "role_arn", "secret_key"]
        text = path.read_text()
        assert (
            "old/secret/value0123" not in text
            and 'role_arn = "arn:aws:iam::111122223333:role/byob"' in text
        )
