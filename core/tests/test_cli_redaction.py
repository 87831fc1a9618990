"""A connection string given to the wrong argument never has its secret printed (issue 18
item 8), and a ``byob://`` filesystem's storage options print no secret."""

from __future__ import annotations

import json
import pickle
import pprint
import secrets as stdlib_secrets
import urllib.parse

import pytest
from byob_core import secrets
from byob_core.cli import main


def fresh_secret() -> str:
    """A secret byob has never seen (so nothing registered it for redaction)."""
    return "Zq" + stdlib_secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def uris(secret: str) -> dict[str, str]:
    quoted = urllib.parse.quote(secret, safe="")
    return {
        "s3": f"s3://AKIAEXAMPLE:{secret}@minio.local:9000/bucket/sub?tls=false",
        "s3-slash": f"s3://AKIAEXAMPLE:{secret[:10]}/{secret[10:]}@s3.amazonaws.com/b",
        "az": f"az://:{quoted}@acct/container",
        "gs": f"gs://sa@p.iam.gserviceaccount.com:{quoted}@bucket",
        "sas": f"https://acct.blob.core.windows.net/c?sv=2022-11-02&sig={quoted}",
        "azure-conn": f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={secret};",
        "query": f"s3://bucket/sub?secret_key={secret}&region=us-east-1",
    }


ARGVS = {
    "upload-plan size": lambda uri: ["upload-plan", uri],
    "--config": lambda uri: ["resolve", "--config", uri, "runs/a"],
    "--live": lambda uri: ["gc", "--live", uri],
    "--team": lambda uri: ["resolve", "--team", uri, "runs/a"],
    "--method": lambda uri: ["sign", "--method", uri, "runs/a"],
    "--grace": lambda uri: ["gc", "--live", "x.txt", "--grace", uri],
    "unrecognized": lambda uri: ["plugins", uri],
    "unknown command": lambda uri: [uri],
}


@pytest.mark.parametrize("form", list(uris("x")))
@pytest.mark.parametrize("where", list(ARGVS))
@pytest.mark.parametrize("as_json", [False, True])
def test_the_secret_of_a_misplaced_connection_string_is_never_printed(
    capsys, tmp_path, monkeypatch, form: str, where: str, as_json: bool
) -> None:
    monkeypatch.setenv("BYOB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BYOB_CONFIG", raising=False)
    secret = fresh_secret()
    uri = uris(secret)[form]
    argv = ARGVS[where](uri) + (["--json"] if as_json else [])
    code, output = run(capsys, argv)
    assert code != 0
    for piece in (secret, urllib.parse.quote(secret, safe=""), secret[:10], secret[10:]):
        assert piece not in output, (argv, output)
    assert "Traceback" not in output


def test_redaction_keeps_what_is_not_secret() -> None:
    text = secrets.redact_connection_strings(
        "bad size 's3://AKIAEXAMPLE:hunter2hunter2@host:9000/bucket?region=eu-west-1&tls=false'"
    )
    assert text == "bad size 's3://AKIAEXAMPLE:***@host:9000/bucket?region=eu-west-1&tls=false'"
    # A port is not a password; a plain path is left alone.
    assert secrets.redact_connection_strings("http://host:9000/a/b") == "http://host:9000/a/b"


def test_storage_options_print_no_secret(tmp_path) -> None:
    from byob_core.fs import ByobFileSystem

    secret = fresh_secret()
    data = {
        "data_dir": str(tmp_path),
        "instance": {
            "provider": "aws",
            "bucket": "b",
            "subpath": "wandb",
            "region": "us-east-1",
            "access_key": "AKIAEXAMPLE",
            "secret_key": secret,
        },
        "teams": {"omega": {"store": f"s3://AKIAEXAMPLE:{secret}@s3.amazonaws.com/o"}},
    }
    fs = ByobFileSystem(config_data=data, skip_instance_cache=True)
    options = fs.storage_options
    printable = [
        repr(options),
        str(options),
        f"{options}",
        pprint.pformat(options),
        repr(options["config_data"]),
        repr(options["config_data"]["instance"]),
        repr(vars(fs)),
        repr(fs),
        json.dumps(fs.to_dict(include_password=False)),
    ]
    for text in printable:
        assert secret not in text, text
    assert "***" in repr(options)
    # The filesystem still rebuilds itself with its credentials (fsspec pickles workers).
    clone = pickle.loads(pickle.dumps(fs))  # noqa: S301 (our own bytes)
    assert clone.byob.config.instance.credentials.secret_key == secret
    assert dict(options["config_data"]["instance"])["secret_key"] == secret
