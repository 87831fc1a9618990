"""Azurite for the byob-azure tests: started once per session on a free 127.0.0.1 port.

The binary is ``.cache/node/node_modules/.bin/azurite-blob`` under the repository root
(``scripts/setup.sh`` installs it there), found by walking up from this file, or the
path in ``BYOB_AZURITE``. A missing binary fails the tests: it is never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from byob_core.stores import Credentials, Store

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public; documented by Microsoft).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_RELATIVE = Path(".cache/node/node_modules/.bin/azurite-blob")


def azurite_binary() -> Path:
    given = os.environ.get("BYOB_AZURITE")
    if given:
        path = Path(given)
        if not path.exists():
            raise FileNotFoundError(f"BYOB_AZURITE={given} does not exist")
        return path
    for folder in Path(__file__).resolve().parents:
        candidate = folder / _RELATIVE
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"azurite-blob not found under any parent of {Path(__file__).parent} ({_RELATIVE}); "
        "run scripts/setup.sh (npm install azurite@3 into .cache/node) or set BYOB_AZURITE"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_azurite(  # type: ignore[no-untyped-def]
    extra: list[str], workdir: str, context: ssl.SSLContext | None = None
):
    """Start azurite-blob on a free port and wait until it answers: (process, port)."""
    binary = azurite_binary()
    if shutil.which("node") is None:
        raise FileNotFoundError("node is not on PATH; Azurite needs it")
    port = _free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
            *extra,
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    scheme = "https" if context is not None else "http"
    url = f"{scheme}://127.0.0.1:{port}/{ACCOUNT}?comp=list"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"Azurite exited with {process.returncode}: {err[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=1, context=context)  # noqa: S310
            break
        except urllib.error.HTTPError:
            break  # it answers (403 or 401 without credentials): ready
        except OSError:
            if time.monotonic() > deadline:
                _stop(process)
                raise RuntimeError("Azurite did not answer within 30 s") from None
            time.sleep(0.1)
    return process, port


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """The blob endpoint of a running Azurite, as a Store endpoint (``host:port/account``)."""
    workdir = tempfile.mkdtemp(prefix="byob-azurite-")
    try:
        process, port = _start_azurite([], workdir)
        try:
            yield f"127.0.0.1:{port}/{ACCOUNT}"
        finally:
            _stop(process)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="session")
def azurite_oauth() -> Iterator[tuple[str, Path]]:
    """Azurite over HTTPS with Entra ID bearer tokens (``--oauth basic``): (endpoint, CA file).

    Basic OAuth checks a token's issuer, audience and lifetime but not its signature, and
    answers Get User Delegation Key: enough to run the user-delegation SAS path end to end.
    """
    workdir = tempfile.mkdtemp(prefix="byob-azurite-oauth-")
    try:
        cert, key = _self_signed(Path(workdir))
        context = ssl.create_default_context(cafile=str(cert))
        process, port = _start_azurite(
            ["--oauth", "basic", "--cert", str(cert), "--key", str(key)], workdir, context
        )
        try:
            yield f"127.0.0.1:{port}/{ACCOUNT}", cert
        finally:
            _stop(process)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class UnsignedEntraToken:
    """A TokenCredential handing out unsigned JWTs, which Azurite's basic OAuth accepts."""

    def __init__(self, oid: str, tid: str) -> None:
        self.oid, self.tid = oid, tid

    def get_token(self, *scopes: str, **kwargs: object):  # type: ignore[no-untyped-def]
        import base64
        import json

        from azure.core.credentials import AccessToken

        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{self.tid}/",
            "nbf": now - 60,
            "iat": now - 60,
            "exp": now + 3600,
            "oid": self.oid,
            "tid": self.tid,
        }

        def part(data: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"
        return AccessToken(token, now + 3600)


class AsyncUnsignedEntraToken(UnsignedEntraToken):
    """The asyncio flavour (adlfs uses the aio SDK)."""

    async def get_token(self, *scopes: str, **kwargs: object):  # type: ignore[no-untyped-def, override]
        return UnsignedEntraToken.get_token(self, *scopes, **kwargs)

    async def close(self) -> None:
        return None

    async def __aenter__(self):  # type: ignore[no-untyped-def]
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


@pytest.fixture
def entra_store(azurite_oauth, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    """A store without an account key that authenticates with an (unsigned) Entra ID token.

    The one seam: `clients.entra_credential` (DefaultAzureCredential, which would ask a
    real Entra ID) is replaced by a credential whose tokens Azurite accepts.
    """
    from byob_azure import clients

    endpoint, cert = azurite_oauth
    # requests (the sync SDK) reads REQUESTS_CA_BUNDLE; aiohttp (the aio SDK under adlfs)
    # made its verifying SSL context once at import, so add our throwaway CA to it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    import aiohttp.connector

    aiohttp.connector._SSL_CONTEXT_VERIFIED.load_verify_locations(cafile=str(cert))
    ids = {
        "oid": "6f2d1c7e-0000-4000-8000-000000000001",
        "tid": "72f988bf-0000-4000-8000-000000000002",
    }
    token, async_token = UnsignedEntraToken(**ids), AsyncUnsignedEntraToken(**ids)
    monkeypatch.setattr(
        clients, "entra_credential", lambda store, aio=False: async_token if aio else token
    )
    store = Store(
        provider="azure",
        account=ACCOUNT,
        bucket=f"byob-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint,
        tls=True,
        tenant_id=token.tid,
        client_id="11111111-2222-3333-4444-555555555555",
    )
    clients.container(store).create_container()
    yield store
    clients.forget(store)


def azure_store(endpoint: str, container: str | None = None, **kwargs: object) -> Store:
    return Store(
        provider="azure",
        account=ACCOUNT,
        bucket=container or f"byob-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint,
        tls=False,
        credentials=Credentials(account_key=KEY),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def new_store(azurite: str):  # type: ignore[no-untyped-def]
    """A factory of stores on fresh (not yet created) containers."""

    def make(**kwargs: object) -> Store:
        return azure_store(azurite, **kwargs)

    return make


@pytest.fixture
def store(azurite: str) -> Store:
    """A store on a fresh container that exists (created through the SDK)."""
    made = azure_store(azurite)
    from byob_azure import clients

    clients.container(made).create_container()
    return made


@pytest.fixture
def bare_service(azurite: str) -> Iterator[None]:
    """Reset the account's blob service properties (CORS, delete retention) around a test."""
    from azure.storage.blob import RetentionPolicy
    from byob_azure import clients

    service = clients.service(azure_store(azurite, container="reset"))
    service.set_service_properties(cors=[], delete_retention_policy=RetentionPolicy(enabled=False))
    yield
    service.set_service_properties(cors=[], delete_retention_policy=RetentionPolicy(enabled=False))
