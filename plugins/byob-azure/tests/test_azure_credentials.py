"""Entra ID application identities at the HTTP boundary: a local Entra ID authority (HTTPS)
records each token request, and the tokens it hands out reach Azurite's OAuth mode, which
answers Get User Delegation Key; the user-delegation SAS then works against Azurite.

Workload identity federation (a client assertion read from an OIDC token file, as AKS
projects it) and an application secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import ssl
import threading
import time
import urllib.parse
import uuid

import pytest
import requests
from byob_azure import clients
from byob_core import ConfigError
from byob_core.signing import SignRequest
from byob_core.stores import Credentials, Store

from .conftest import ACCOUNT

TENANT = "72f988bf-0000-4000-8000-000000000002"
CLIENT = "11111111-2222-3333-4444-555555555555"
OID = "6f2d1c7e-0000-4000-8000-0000000000aa"


def unsigned_token() -> str:
    now = int(time.time())
    claims = {
        "aud": "https://storage.azure.com",
        "iss": f"https://sts.windows.net/{TENANT}/",
        "nbf": now - 60,
        "iat": now - 60,
        "exp": now + 3600,
        "oid": OID,
        "tid": TENANT,
    }

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


class FakeEntra:
    """An Entra ID authority on 127.0.0.1: OpenID metadata and the token endpoint."""

    def __init__(self, cert: str, key: str) -> None:
        self.token_requests: list[dict[str, list[str]]] = []
        self.paths: list[str] = []
        authority = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def reply(self, data: dict[str, object]) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                authority.paths.append(self.path)
                tenant = self.path.strip("/").split("/", 1)[0]
                base = authority.url
                self.reply(
                    {
                        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                        "issuer": f"{base}/{tenant}/v2.0",
                        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                    }
                )

            def do_POST(self) -> None:
                authority.paths.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                authority.token_requests.append(urllib.parse.parse_qs(body.decode()))
                self.reply(
                    {
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "ext_expires_in": 3600,
                        "access_token": unsigned_token(),
                    }
                )

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def entra(azurite_oauth):
    _, cert = azurite_oauth
    authority = FakeEntra(str(cert), str(cert.parent / "key.pem"))
    yield authority
    authority.server.shutdown()


@pytest.fixture
def https(azurite_oauth, monkeypatch):
    endpoint, cert = azurite_oauth
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    return endpoint, str(cert)


def entra_store(endpoint: str, authority: str, **creds: str) -> Store:
    return Store(
        provider="azure",
        account=ACCOUNT,
        bucket=f"byob-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint,
        tls=True,
        tenant_id=TENANT,
        client_id=CLIENT,
        credentials=Credentials(**creds),
        options={"authority_host": authority},
    )


def put_then_get(store: Store, cert: str) -> bytes:
    clients.container(store).create_container()
    now = clients.now()
    put, get = clients.signer(store).sign(
        [
            SignRequest(key="wi/a.txt", method="PUT", at=now, expires=dt.timedelta(minutes=10)),
            SignRequest(key="wi/a.txt", method="GET", at=now, expires=dt.timedelta(minutes=10)),
        ]
    )
    response = requests.put(
        put.url, data=b"federated", headers=dict(put.headers), timeout=10, verify=cert
    )
    assert response.status_code == 201, response.text
    response = requests.get(get.url, timeout=10, verify=cert)
    assert response.status_code == 200, response.text
    return response.content


class TestWorkloadIdentity:
    def test_the_token_file_is_the_client_assertion(self, entra, https, tmp_path) -> None:
        endpoint, cert = https
        token_file = tmp_path / "azure-identity-token"
        token_file.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2E6b21lZ2EifQ.first\n")
        store = entra_store(endpoint, entra.url, federated_token_file=str(token_file))
        before = len(entra.token_requests)
        assert put_then_get(store, cert) == b"federated"
        [form] = entra.token_requests[before:]
        assert form["client_assertion"] == [token_file.read_text().strip()]
        assert form["client_assertion_type"] == [
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ]
        assert form["client_id"] == [CLIENT]
        assert form["grant_type"] == ["client_credentials"]
        assert "https://storage.azure.com/.default" in form["scope"][0]
        assert any(p.startswith(f"/{TENANT}/") for p in entra.paths)
        # The signer used a user delegation key of the federated identity.
        assert clients.signer(store).delegation.signed_oid == OID
        clients.forget(store)

    def test_a_rotated_token_file_is_read_again(self, entra, https, tmp_path) -> None:
        endpoint, cert = https
        token_file = tmp_path / "token"
        token_file.write_text("first.assertion.jwt")
        store = entra_store(endpoint, entra.url, federated_token_file=str(token_file))
        put_then_get(store, cert)
        clients.forget(store)
        token_file.write_text("second.assertion.jwt")
        # A new store object: the same store with its token file rotated under it.
        again = entra_store(endpoint, entra.url, federated_token_file=str(token_file))
        before = len(entra.token_requests)
        put_then_get(again, cert)
        assert entra.token_requests[before]["client_assertion"] == ["second.assertion.jwt"]
        clients.forget(again)

    def test_tenant_and_client_are_required(self, tmp_path) -> None:
        store = Store(
            provider="azure",
            account=ACCOUNT,
            bucket="c",
            credentials=Credentials(federated_token_file=str(tmp_path / "t")),
        )
        with pytest.raises(ConfigError, match="tenant_id"):
            clients.entra_credential(store)

    def test_auth_mode_names_the_identity(self, tmp_path) -> None:
        store = entra_store("127.0.0.1:1/x", "https://127.0.0.1:1", federated_token_file="/t")
        assert clients.auth_mode(store) == f"workload identity {CLIENT} (federated token)"


class TestClientSecret:
    def test_the_secret_goes_to_the_token_endpoint_only(self, entra, https) -> None:
        endpoint, cert = https
        secret = "app~secret.Zq9xWvK3" + uuid.uuid4().hex
        store = entra_store(endpoint, entra.url, client_secret=secret)
        before = len(entra.token_requests)
        assert put_then_get(store, cert) == b"federated"
        [form] = entra.token_requests[before:]
        assert form["client_secret"] == [secret]
        assert form["client_id"] == [CLIENT]
        assert secret not in repr(store) and secret not in repr(store.credentials)
        assert secret not in json.dumps(store.to_dict())
        clients.forget(store)


class TestFederatedIo:
    def test_adlfs_reads_and_writes_with_the_federated_identity(
        self, entra, https, tmp_path
    ) -> None:
        import aiohttp.connector

        endpoint, cert = https
        aiohttp.connector._SSL_CONTEXT_VERIFIED.load_verify_locations(cafile=cert)
        token_file = tmp_path / "token"
        token_file.write_text("aio.assertion.jwt")
        store = entra_store(endpoint, entra.url, federated_token_file=str(token_file))
        clients.container(store).create_container()
        before = len(entra.token_requests)
        fs = clients.filesystem(store)
        fs.pipe_file(f"{store.bucket}/io/a.txt", b"through adlfs")
        assert fs.cat_file(f"{store.bucket}/io/a.txt") == b"through adlfs"
        assigned = [r["client_assertion"] for r in entra.token_requests[before:]]
        assert ["aio.assertion.jwt"] in assigned
        clients.forget(store)
