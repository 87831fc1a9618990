"""User-delegation SAS end to end: Entra ID token -> delegation key -> our signature -> Azurite."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import requests
from byob_azure import clients
from byob_core.signing import SignRequest
from byob_core.stores import Store


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def sign(store: Store, key: str, method: str = "GET", **kwargs) -> object:  # type: ignore[no-untyped-def]
    kwargs.setdefault("at", now())
    kwargs.setdefault("expires", dt.timedelta(hours=1))
    request = SignRequest(key=key, method=method, **kwargs)
    [signed] = clients.signer(store, until=request.expires_at).sign([request])
    return signed


class TestUserDelegationSas:
    def test_signer_uses_a_delegation_key(self, entra_store: Store) -> None:
        signer = clients.signer(entra_store)
        assert signer.delegation is not None
        assert signer.delegation.signed_oid == "6f2d1c7e-0000-4000-8000-000000000001"
        assert "value=***" in repr(signer.delegation)

    def test_put_then_get_with_user_delegation_sas(self, entra_store: Store) -> None:
        cert = requests.utils.os.environ["REQUESTS_CA_BUNDLE"]
        put = sign(entra_store, "ud/a b.txt", "PUT", content_type="text/plain")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(put.url).query)
        assert query["skoid"] == ["6f2d1c7e-0000-4000-8000-000000000001"]
        assert query["spr"] == ["https"]
        response = requests.put(
            put.url, data=b"delegated", headers=dict(put.headers), timeout=10, verify=cert
        )
        assert response.status_code == 201, response.text
        got = requests.get(sign(entra_store, "ud/a b.txt").url, timeout=10, verify=cert)
        assert got.status_code == 200
        assert got.content == b"delegated"

    def test_tampered_user_delegation_sas_is_refused(self, entra_store: Store) -> None:
        cert = requests.utils.os.environ["REQUESTS_CA_BUNDLE"]
        put = sign(entra_store, "ud/t.bin", "PUT")
        assert (
            requests.put(
                put.url, data=b"x", headers=dict(put.headers), timeout=10, verify=cert
            ).status_code
            == 201
        )
        url = sign(entra_store, "ud/t.bin").url.replace("sp=r", "sp=rw")
        assert requests.get(url, timeout=10, verify=cert).status_code == 403

    def test_key_is_renewed_when_a_url_would_outlive_it(self, entra_store: Store) -> None:
        first = clients.signer(entra_store)
        assert first.delegation is not None
        later = first.delegation.expiry + dt.timedelta(hours=1)
        renewed = clients.signer(entra_store, until=later)
        assert renewed is not first


class TestEntraStore:
    def test_adlfs_with_an_entra_token(self, entra_store: Store) -> None:
        fs = clients.filesystem(entra_store)
        fs.pipe_file(entra_store.fs_path("fs/e.txt"), b"entra")
        assert fs.cat_file(entra_store.fs_path("fs/e.txt")) == b"entra"
        blob = clients.container(entra_store).get_blob_client("fs/e.txt")
        assert blob.download_blob().readall() == b"entra"

    def test_delegation_key_value_is_redacted(self, entra_store: Store) -> None:
        from byob_core import secrets

        value = clients.signer(entra_store).delegation.value  # type: ignore[union-attr]
        assert secrets.redact(f"oops {value}") == "oops ***"
