"""What ``python -m byob_core sign`` prints is the URL the API signs, for every provider.

A signed URL is the product: it must carry the access key id (``X-Amz-Credential``,
``X-Goog-Credential``) and, for temporary credentials, the session token. Only the secret
parts of credentials are redacted, and a secret never appears in a URL. The same clock
(``--at``) gives the CLI, `Byob.sign` and ``byob://`` `sign()` byte-identical URLs.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from byob_core.api import Byob
from byob_core.cli import main
from byob_core.fs import ByobFileSystem

AT = "2026-03-04T05:06:07Z"
WHEN = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
KEY = "runs/a b+c.bin"

AWS_ID, AWS_SECRET = "AKIAPRINTEDURL000001", "printedAws/Secret+Key0123456789abcdefGH"
TOKEN = "FwoGZXIvYXdzEPrintedSessionToken/+=0123456789abcdef"
MINIO_ID, MINIO_SECRET = "printedMinioKey", "printed/Minio+Secret=0123456789"
CW_ID, CW_SECRET = "CWPRINTEDKEY0001", "printed/CoreWeave+Secret=01234"
HMAC_ID, HMAC_SECRET = "GOOG1PRINTEDHMACID000000", "printedGcs/Hmac+Secret0123456789abcd"
SA = "printer@acme-print.iam.gserviceaccount.com"
AZURE_KEY = base64.b64encode(b"printed-azure-account-key-" * 3).decode()


def q(value: str) -> str:
    return quote(value, safe="")


@pytest.fixture(scope="module")
def pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@pytest.fixture
def config(tmp_path: Path, pem: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One team per provider and credential kind; the allow-list names the non-AWS ones."""
    uris = {
        "aws": f"s3://{AWS_ID}:{q(AWS_SECRET)}@s3.eu-west-1.amazonaws.com/printed-aws/wandb",
        "minio": f"s3://{MINIO_ID}:{q(MINIO_SECRET)}@minio.local:9000/printed-minio/w"
        "?region=us-east-1",
        "coreweave": f"cw://{CW_ID}:{q(CW_SECRET)}@cwobject.com/printed-cw/w?tls=true",
        "hmac": f"gs://{HMAC_ID}:{q(HMAC_SECRET)}@printed-hmac/w",
        "gcs": f"gs://{SA}:{q(pem)}@printed-gcs/w",
        "azure": f"az://:{q(AZURE_KEY)}@printedacct/container/w",
    }
    monkeypatch.setenv(
        "GORILLA_SUPPORTED_FILE_STORES",
        ",".join([*uris.values(), "s3://printed-token?region=us-west-2"]),
    )
    teams = "\n".join(f'[teams.{name}]\nstore = "{uri}"\n' for name, uri in uris.items())
    path = tmp_path / "byob.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\n\n'
        f'[instance]\nprovider = "file"\nbucket = "{tmp_path / "instance"}"\n\n'
        f"{teams}\n"
        "[teams.token]\n"
        'provider = "aws"\nbucket = "printed-token"\nregion = "us-west-2"\n'
        f'access_key = "{AWS_ID}"\nsecret_key = "{AWS_SECRET}"\nsession_token = "{TOKEN}"\n',
        encoding="utf-8",
    )
    return path


TEAMS = ["aws", "token", "minio", "coreweave", "hmac", "gcs", "azure"]
SECRETS = [AWS_SECRET, MINIO_SECRET, CW_SECRET, HMAC_SECRET, AZURE_KEY]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


@pytest.mark.parametrize("team", TEAMS)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_printed_url_is_the_signed_url(
    team: str, method: str, config: Path, pem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sign", "--config", str(config), "--team", team, "--at", AT, "--method", method]
    text = cli(capsys, *argv, "--user", "alice", KEY)
    [row] = json.loads(cli(capsys, *argv, "--user", "alice", "--json", KEY))

    byob = Byob.from_env(config)
    [api] = byob.sign([KEY], team=team, method=method, at=WHEN, user="alice")
    fs_url = ByobFileSystem(config=str(config)).sign(
        f"byob://{team}/{KEY}", method=method, at=WHEN, user="alice"
    )
    assert text.splitlines()[0] == f"{method} {api.url}"
    assert row["url"] == api.url
    assert fs_url == api.url
    assert "***" not in api.url
    for secret in [*SECRETS, *pem.splitlines()[1:-1]]:
        for spelling in (secret, q(secret), quote(secret, safe="/")):
            assert spelling not in text + json.dumps(row)


@pytest.mark.parametrize(
    ("team", "identifier"),
    [
        ("aws", f"X-Amz-Credential={AWS_ID}%2F"),
        ("minio", f"X-Amz-Credential={MINIO_ID}%2F"),
        ("coreweave", f"X-Amz-Credential={CW_ID}%2F"),
        ("hmac", f"X-Goog-Credential={HMAC_ID}%2F"),
        ("gcs", f"X-Goog-Credential={q(SA)}%2F"),
    ],
)
def test_the_access_key_id_is_printed(
    team: str, identifier: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = cli(capsys, "sign", "--config", str(config), "--team", team, KEY)
    assert identifier in out


def test_a_session_token_is_printed_in_the_url_only(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from byob_core import secrets

    out = cli(capsys, "sign", "--config", str(config), "--team", "token", "--json", KEY)
    [row] = json.loads(out)
    assert f"X-Amz-Security-Token={q(TOKEN)}" in row["url"]
    assert out.count(q(TOKEN)) == 1
    # Everywhere else (logs, errors) the token and the signature stay out.
    assert TOKEN not in secrets.redact(f"error with {TOKEN}")
    shown = secrets.redact_signed_url(row["url"])
    assert q(TOKEN) not in shown and "X-Amz-Signature=***" in shown
    assert f"X-Amz-Credential={AWS_ID}" in shown
