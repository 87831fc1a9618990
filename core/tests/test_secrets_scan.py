"""No secret ever reaches a log line or any CLI output.

Runs the CLI's scenarios in fresh processes with JSON logs at debug level, and library
calls with structlog rendering JSON into a buffer, then scans everything written for each
secret used, raw and URL-encoded (and, for the PEM key, each of its body lines).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import structlog
from byob_core import config, logs, uris
from byob_core.api import Byob
from byob_core.errors import ByobError
from byob_core.plugins import PluginHost

AWS_KEY_ID = "AKIAQSCANKEYID7EXAMPLE"
AWS_SECRET = "scanSecret/AWS+abc=defGHIjkl0123456789xyz"
MINIO_KEY_ID = "minioScanAccessKey"
MINIO_SECRET = "minio/Scan+Secret==with@at:colon?q&amp#h"
AZURE_KEY = "AzScanKey0123456789/abcdefghij+KLMNOPQRSTUVWXYZ==" * 2
GCS_HMAC_ID = "GOOG1SCANHMACACCESSID0000"
GCS_HMAC_SECRET = "gcsScanHmac/Secret+0123456789abcdef"
CW_SECRET = "coreweave/Scan+Secret=0123456789"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkScanScanScan0123456789+/\n"
    "AoIBAQDvScanBodyLineTwoABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123==\n"
    "-----END PRIVATE KEY-----\n"
)
SA = "scan-sa@acme-scan.iam.gserviceaccount.com"
ENV_SECRET = "envScanSecret/AWS+fromTheEnvironment0123"
SECRETS = [AWS_SECRET, MINIO_SECRET, AZURE_KEY, GCS_HMAC_SECRET, CW_SECRET, PEM, ENV_SECRET]
KEY_IDS = [AWS_KEY_ID, MINIO_KEY_ID, GCS_HMAC_ID]


def q(value: str) -> str:
    return quote(value, safe="")


MINIO_URI = (
    f"s3://{MINIO_KEY_ID}:{q(MINIO_SECRET)}@minio.scan.local:9000/shared/omega?region=us-east-1"
)
URIS = {
    "aws": f"s3://{AWS_KEY_ID}:{q(AWS_SECRET)}@s3.eu-west-1.amazonaws.com/acme-scan/wandb",
    "minio": MINIO_URI,
    "azure": f"az://:{q(AZURE_KEY)}@acmescan/container/teams",
    "gcs": f"gs://{SA}:{q(PEM)}@gcs-scan-bucket/wandb",
    "hmac": f"gs://{GCS_HMAC_ID}:{q(GCS_HMAC_SECRET)}@gcs-hmac-bucket",
    "coreweave": f"cw://CWSCANKEY:{q(CW_SECRET)}@cwobject.com/cw-bucket?tls=true",
}


def forbidden() -> list[str]:
    """Every spelling of every secret that must not appear (raw, encoded, PEM lines).

    Access key ids (`KEY_IDS`) are identifiers, not secrets: a signed URL must carry them,
    so they may appear; `test_key_ids_are_identifiers` proves the core does not hide them.
    """
    found: set[str] = set()
    for value in SECRETS:
        found.update(
            {value, quote(value, safe=""), quote(value, safe="/"), value.replace("\n", "\\n")}
        )
        found.update(line for line in value.splitlines() if len(line) >= 16 and "-----" not in line)
    return sorted(found, key=len, reverse=True)


def leaks(text: str) -> list[str]:
    return [value for value in forbidden() if value in text]


# -- the CLI, in fresh processes -----------------------------------------------------------------
@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A file instance store alongside teams whose connection strings carry secrets."""
    root = tmp_path_factory.mktemp("scan")
    plugin_dir = root / "site"
    plugin_dir.mkdir()
    # A plugin whose import error quotes secrets from the environment (a careless SDK might):
    # `plugins` loads no configuration, so only the environment tells what to redact.
    (plugin_dir / "byob_scan_leaky.py").write_text(
        f"raise RuntimeError('cannot connect with secret {ENV_SECRET} and key {q(MINIO_SECRET)}')\n"
    )
    info = plugin_dir / "byob_scan_leaky-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: byob-scan-leaky\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[byob]\nleaky = byob_scan_leaky\n")
    path = root / "byob.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            data_dir = "{root / "data"}"

            [instance]
            provider = "file"
            bucket = "{root / "instance"}"
            subpath = "wandb"

            [teams.omega]
            store = "{MINIO_URI}"

            [teams.zeta]
            store = "{URIS["azure"]}"

            [teams.gamma]
            store = "{URIS["gcs"]}"

            [teams.delta]
            provider = "aws"
            bucket = "delta-bucket"
            access_key = "{AWS_KEY_ID}"
            secret_key = "{AWS_SECRET}"

            [teams.hmac]
            store = "{URIS["hmac"]}"
            """
        )
    )
    allow = ",".join([MINIO_URI, URIS["azure"], URIS["gcs"], URIS["hmac"]])
    bad = root / "bad.toml"
    bad.write_text(
        textwrap.dedent(
            f"""
            [instance]
            store = "s3://{AWS_KEY_ID}:{q(AWS_SECRET)}@minio.scan.local:9000/b"

            [teams.t]
            provider = "minio"
            bucket = "b"
            secret_key = "{MINIO_SECRET}"
            tls = "yes-please"
            """
        )
    )
    return {
        "BYOB_CONFIG": str(path),
        "BYOB_DATA_DIR": str(root / "data"),
        "GORILLA_SUPPORTED_FILE_STORES": allow,
        "AWS_SECRET_ACCESS_KEY": ENV_SECRET,
        "BYOB_LOG_FORMAT": "json",
        "BYOB_LOG_LEVEL": "debug",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(plugin_dir), os.environ.get("PYTHONPATH")])
        ),
        "bad": str(bad),
    }


SCENARIOS = [
    *[("parse", uri) for uri in URIS.values()],
    *[("parse", uri, "--json") for uri in URIS.values()],
    ("parse", f"s3://{AWS_KEY_ID}:{q(AWS_SECRET)}@minio.scan.local:9000/b"),  # no region
    (
        "parse",
        f"s3://{AWS_KEY_ID}:{q(AWS_SECRET)}@minio.scan.local:9000/b?region=r&tls={q(AWS_SECRET)}",
    ),
    ("parse", f"az://admin:{q(AZURE_KEY)}@acct/c"),
    ("parse", f"gs://{SA}:{q(PEM)}@b/%2e%2e"),
    ("parse", f"s3://{AWS_KEY_ID}:{q(AWS_SECRET)}@h/b?{q(AWS_SECRET)}=1"),
    ("parse", f"{AWS_KEY_ID}:{AWS_SECRET}@nowhere"),
    (
        "parse",
        "--json",
        f"s3://{AWS_KEY_ID}:{AWS_SECRET}@minio.scan.local:9000/b?region=r",
    ),  # raw, not encoded
    ("resolve", "runs/a.bin", "--json"),
    *[
        ("resolve", "--team", team, "runs/a.bin", "--json")
        for team in ("omega", "zeta", "gamma", "delta", "hmac")
    ],
    ("resolve", "--team", "omega", "runs/a.bin"),
    ("resolve", "--team", "omega", "../escape"),
    ("plugins",),
    ("plugins", "--json"),
    ("provision",),
    ("plan", "--json"),
    ("validate",),
    ("validate", "--json"),
    ("sign", "runs/a.bin"),
    ("upload-plan", "--team", "omega", "1000000000", "--json"),
    ("resolve", "--config", "{bad}", "x"),
    ("validate", "--config", "{bad}"),
]


@pytest.mark.parametrize("argv", SCENARIOS, ids=lambda argv: " ".join(argv)[:60])
def test_no_secret_in_cli_output_or_logs(setup: dict[str, str], argv: tuple[str, ...]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BYOB_DEBUG"}
    env.update({k: v for k, v in setup.items() if k != "bad"})
    argv = tuple(a.format(bad=setup["bad"]) for a in argv)
    result = subprocess.run(
        [sys.executable, "-m", "byob_core", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1, 2), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not leaks(result.stdout), leaks(result.stdout)
    assert not leaks(result.stderr), leaks(result.stderr)


def test_the_scenarios_do_produce_output_and_logs(setup: dict[str, str]) -> None:
    """A guard on the scan: the scenarios print real data and JSON log lines."""
    env = {**os.environ, **{k: v for k, v in setup.items() if k != "bad"}}
    result = subprocess.run(
        [sys.executable, "-m", "byob_core", "plugins"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    failed = [
        e for e in events if e.get("event") == "plugin_load_failed" and e.get("plugin") == "leaky"
    ]
    assert failed and "***" in failed[0]["error"]
    assert "leaky" in result.stdout and "RuntimeError" in result.stdout


# -- library calls, with structlog rendering JSON into a buffer ----------------------------------
@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    saved = structlog.get_config()
    was = logs._configured
    buffer = io.StringIO()
    logs.configure(json=True, level="debug", stream=buffer, force=True)
    try:
        yield buffer
    finally:
        structlog.configure(**saved)
        logs._configured = was


class TestLibrary:
    def test_parse_config_and_verbs_log_no_secret(
        self, log_buffer: io.StringIO, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[str] = []
        for uri in URIS.values():
            store = uris.parse(uri, environ={})
            seen += [repr(store), str(store), repr(store.credentials), json.dumps(store.to_dict())]
            shown = uris.format(store, redact=True)  # names the key id on purpose, not the secret
            assert not leaks(shown), shown
        for bad in (
            f"s3://{AWS_KEY_ID}:{q(AWS_SECRET)}@minio:9000/b",
            f"s3://{AWS_KEY_ID}:{q(AWS_SECRET)}@minio:9000/b?region=r&tls={q(AWS_SECRET)}",
        ):
            with pytest.raises(ByobError) as caught:
                uris.parse(bad, environ={})
            seen += [str(caught.value), repr(caught.value)]
        with pytest.raises(ByobError) as caught:
            config.from_mapping(
                {
                    "teams": {
                        "a": {
                            "provider": "minio",
                            "bucket": "b",
                            "secret_key": MINIO_SECRET,
                            "tls": AWS_SECRET,
                        }
                    }
                },
                environ={},
            )
        seen += [str(caught.value), repr(caught.value), repr(caught.value.problems)]

        cfg = config.from_mapping(
            {
                "data_dir": str(tmp_path / "data"),
                "instance": {"provider": "file", "bucket": str(tmp_path / "inst")},
                "teams": {"omega": MINIO_URI, "zeta": URIS["azure"]},
            },
            environ={"GORILLA_SUPPORTED_FILE_STORES": f"{MINIO_URI},{URIS['azure']}"},
        )
        seen += [repr(cfg), str(cfg.teams)]
        byob = Byob(cfg, PluginHost.load(entry_points=False))
        seen.append(json.dumps(byob.provision().to_dict(), default=str))
        seen.append(json.dumps(byob.validate().to_dict(), default=str))
        seen.append(repr(byob.resolve("omega")))

        log = structlog.get_logger("byob.scan")
        log.info("connecting", uri=MINIO_URI, detail=f"key={AWS_SECRET}", store=cfg.teams["omega"])
        log.warning("failure", password="x" * 8, error=RuntimeError(f"denied for {AZURE_KEY}"))
        log.debug("pem", private_key=PEM, body=PEM.splitlines()[1])

        written = log_buffer.getvalue()
        lines = written.splitlines()
        assert len(lines) >= 4
        for line in lines:
            json.loads(line)  # every line is a JSON event
            assert not leaks(line), (leaks(line), line)
        for text in seen:
            assert not leaks(text), (leaks(text), text)
        assert '"event": "connecting"' in written and "***" in written


def test_key_ids_are_identifiers() -> None:
    """Credentials register their secret parts only: the key id survives redaction."""
    from byob_core import secrets

    for uri in URIS.values():
        uris.parse(uri, environ={})
    text = " ".join(KEY_IDS)
    assert secrets.redact(text) == text
    assert not set(KEY_IDS) & secrets.known()


class TestEnvironmentSecrets:
    def test_secrets_in_the_environment_are_redacted_before_any_config_is_read(self) -> None:
        from byob_core import secrets

        azure = "envAzureAccountKey0123456789+/abc=="
        sas = "sv=2024-01-01&sig=envSasSignature0123%2B"
        malformed_secret = "envMalformedEntrySecret/+="
        logs.register_environment_secrets(
            {
                "AWS_SESSION_TOKEN": "envSessionToken0123456789",
                "AZURE_STORAGE_CONNECTION_STRING": f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={azure};SharedAccessSignature={sas}",
                # An entry that does not even parse (no region) still has its secret registered.
                "GORILLA_SUPPORTED_FILE_STORES": f"s3://bkt, s3://AK:{q(malformed_secret)}@minio:9000/b",
            }
        )
        text = f"a envSessionToken0123456789 b {azure} c {sas} d {malformed_secret} e {q(malformed_secret)}"
        redacted = secrets.redact(text)
        for value in (
            "envSessionToken0123456789",
            azure,
            sas,
            malformed_secret,
            q(malformed_secret),
        ):
            assert value not in redacted
        assert redacted.startswith("a *** b *** c")
