"""Service-account impersonation at the HTTP boundary: a local stand-in for Google's OAuth
token endpoint and the IAM Credentials API records each exchange (the source identity's
JWT-bearer grant, ``signBlob``, ``generateAccessToken``) and signs with the target
account's RSA key, as Google would. The signed URLs must be byte-identical to
google-cloud-storage's with that key, and no key of the target ever reaches byob.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import threading
import urllib.parse

import pytest
from byob_core import StoreAccessError
from byob_core.signing import SignRequest
from byob_core.stores import Credentials, Store
from byob_gcp import credentials as gcp_credentials
from byob_gcp.plugin import byob_sign

from .test_gcp_signing import AT, BUCKET, EMAIL, Oracle

SOURCE = "platform@byob-project.iam.gserviceaccount.com"


class FakeGoogle:
    """OAuth ``/token`` and IAM Credentials ``signBlob``/``generateAccessToken`` on 127.0.0.1."""

    def __init__(self, target_pem: str) -> None:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        key = serialization.load_pem_private_key(target_pem.encode(), password=None)
        self.exchanges: list[tuple[str, dict[str, str], object]] = []
        self.refuse = False
        fake_google = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def reply(self, status: int, data: dict[str, object]) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == "/token":
                    form = urllib.parse.parse_qs(raw)
                    fake_google.exchanges.append((self.path, headers, form))
                    self.reply(200, {"access_token": "source-token-1", "expires_in": 3600})
                    return
                body = json.loads(raw)
                fake_google.exchanges.append((self.path, headers, body))
                if fake_google.refuse:
                    self.reply(
                        403,
                        {
                            "error": {
                                "code": 403,
                                "message": "Permission iam.serviceAccounts.signBlob denied",
                            }
                        },
                    )
                elif self.path.endswith(":signBlob"):
                    signature = key.sign(
                        base64.b64decode(body["payload"]), padding.PKCS1v15(), hashes.SHA256()
                    )
                    self.reply(
                        200,
                        {"keyId": "k1", "signedBlob": base64.b64encode(signature).decode()},
                    )
                elif self.path.endswith(":generateAccessToken"):
                    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
                    self.reply(
                        200,
                        {
                            "accessToken": "target-token-1",
                            "expireTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        },
                    )
                else:
                    self.reply(404, {"error": {"message": "unknown"}})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, suffix: str) -> list[tuple[str, dict[str, str], object]]:
        return [e for e in self.exchanges if e[0].endswith(suffix)]


@pytest.fixture(scope="module")
def target_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def fake_google(target_pem):
    fake = FakeGoogle(target_pem)
    yield fake
    fake.server.shutdown()


@pytest.fixture
def adc(fake_google, tmp_path, monkeypatch, rsa_pem):
    """Application default credentials: the platform's own service-account key file, whose
    token endpoint is the local stand-in."""
    path = tmp_path / "adc.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": SOURCE,
                "private_key": rsa_pem,
                "private_key_id": "src1",
                "token_uri": f"{fake_google.url}/token",
                "project_id": "byob-project",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


def impersonating_store(fake_google) -> Store:
    return Store(
        provider="gcp",
        bucket=BUCKET,
        credentials=Credentials(impersonate_service_account=EMAIL),
        options={"iam_endpoint": fake_google.url},
    )


class TestImpersonatedSigning:
    def test_urls_are_byte_identical_to_the_sdk_with_the_targets_key(
        self, fake_google, adc, target_pem
    ) -> None:
        store = impersonating_store(fake_google)
        before = len(fake_google.calls(":signBlob"))
        requests = [
            SignRequest(key="runs/a b.bin", method="GET", at=AT, expires=dt.timedelta(hours=1)),
            SignRequest(key="runs/ü.bin", method="PUT", at=AT, expires=dt.timedelta(hours=24)),
        ]
        signed = byob_sign(store=store, requests=requests)
        oracle = Oracle(target_pem)
        assert signed[0].url == oracle.sign("runs/a b.bin", method="GET", at=AT, expires=3600)
        assert signed[1].url == oracle.sign("runs/ü.bin", method="PUT", at=AT, expires=86400)
        assert "X-Goog-Credential=" + urllib.parse.quote(EMAIL, safe="") in signed[0].url
        calls = fake_google.calls(":signBlob")[before:]
        assert len(calls) == 2
        path, headers, body = calls[0]
        assert path == f"/v1/projects/-/serviceAccounts/{EMAIL}:signBlob"
        assert headers["authorization"] == "Bearer source-token-1"
        assert base64.b64decode(body["payload"]).startswith(b"GOOG4-RSA-SHA256\n20260304T050607Z\n")

    def test_the_source_identity_is_adc_with_a_jwt_bearer_grant(self, fake_google, adc) -> None:
        gcp_credentials._signers.clear()
        before = len(fake_google.calls("/token"))
        byob_sign(
            store=impersonating_store(fake_google),
            requests=[SignRequest(key="x", at=AT, expires=dt.timedelta(minutes=5))],
        )
        [(_, _, form)] = fake_google.calls("/token")[before:]
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        claims = json.loads(
            base64.urlsafe_b64decode(form["assertion"][0].split(".")[1] + "==").decode()
        )
        assert claims["iss"] == SOURCE
        assert "cloud-platform" in claims["scope"]

    def test_a_refusal_names_the_missing_role(self, fake_google, adc) -> None:
        gcp_credentials._signers.clear()
        fake_google.refuse = True
        try:
            with pytest.raises(StoreAccessError, match="serviceAccountTokenCreator"):
                byob_sign(
                    store=impersonating_store(fake_google),
                    requests=[SignRequest(key="x", at=AT, expires=dt.timedelta(minutes=5))],
                )
        finally:
            fake_google.refuse = False

    def test_signing_kind_is_iam(self, fake_google) -> None:
        assert gcp_credentials.signing_kind(impersonating_store(fake_google)) == "iam"


class TestImpersonatedIo:
    def test_gcsfs_gets_tokens_of_the_target_from_generate_access_token(
        self, fake_google, adc
    ) -> None:
        from google.auth.transport.requests import Request

        store = impersonating_store(fake_google)
        token = gcp_credentials.gcsfs_token(store)
        token.refresh(Request())
        assert token.token == "target-token-1"
        [(path, headers, body)] = fake_google.calls(":generateAccessToken")[-1:]
        assert path == f"/v1/projects/-/serviceAccounts/{EMAIL}:generateAccessToken"
        assert headers["authorization"] == "Bearer source-token-1"
        assert body["scope"] == ["https://www.googleapis.com/auth/devstorage.full_control"]
        assert body["lifetime"] == "3600s"
