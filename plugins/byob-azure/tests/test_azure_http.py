"""Signed URLs and the filesystem over real HTTP against Azurite, which validates SAS."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
import requests
from byob_azure import clients
from byob_core.plugins import PluginHost
from byob_core.signing import SignRequest
from byob_core.stores import Store


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost.load()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def sign(host: PluginHost, store: Store, key: str, method: str = "GET", **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("at", now())
    kwargs.setdefault("expires", dt.timedelta(hours=1))
    [signed] = host.sign(store, [SignRequest(key=key, method=method, **kwargs)])
    return signed


def put(signed, body: bytes) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.put(signed.url, data=body, headers=dict(signed.headers), timeout=10)


class TestDiscovery:
    def test_entry_point_registers_the_azure_provider(self, host: PluginHost) -> None:
        assert host.owner("azure") == "azure"
        assert host.spec("azure").user_param == "scid"


class TestSignedUrls:
    """Azurite checks every SAS: what we sign works, and nothing else does."""

    @pytest.mark.parametrize(
        "key",
        ["plain.bin", "dir/sub/a b.txt", "plus+equals=amp&pct%.bin", "ünï/cödé 雪.txt", "q?h#.x"],
    )
    def test_put_then_get_round_trip(self, host: PluginHost, store: Store, key: str) -> None:
        body = f"payload of {key}".encode()
        up = sign(host, store, key, "PUT", user="alice@example.com", content_type="text/plain")
        assert up.headers["x-ms-blob-type"] == "BlockBlob"
        assert put(up, body).status_code == 201
        got = requests.get(sign(host, store, key).url, timeout=10)
        assert got.status_code == 200
        assert got.content == body
        assert got.headers["Content-Type"] == "text/plain"
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(up.url).query)["scid"] == [
            "alice@example.com"
        ]

    def test_tampered_signature_is_refused(self, host: PluginHost, store: Store) -> None:
        assert put(sign(host, store, "t.bin", "PUT"), b"x").status_code == 201
        url = sign(host, store, "t.bin").url
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        sig = query["sig"][0]
        flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
        bad = url.replace(urllib.parse.quote(sig, safe="/"), urllib.parse.quote(flipped, safe="/"))
        assert bad != url
        assert requests.get(bad, timeout=10).status_code == 403

    def test_url_for_one_key_does_not_open_another(self, host: PluginHost, store: Store) -> None:
        assert put(sign(host, store, "mine.bin", "PUT"), b"x").status_code == 201
        assert put(sign(host, store, "other.bin", "PUT"), b"y").status_code == 201
        url = sign(host, store, "mine.bin").url.replace("/mine.bin?", "/other.bin?")
        assert requests.get(url, timeout=10).status_code == 403

    def test_tampered_expiry_is_refused(self, host: PluginHost, store: Store) -> None:
        assert put(sign(host, store, "e.bin", "PUT"), b"x").status_code == 201
        url = sign(host, store, "e.bin").url
        se = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["se"][0]
        later = se.replace(se[:4], str(int(se[:4]) + 1))
        bad = url.replace(urllib.parse.quote(se), urllib.parse.quote(later))
        assert requests.get(bad, timeout=10).status_code == 403

    def test_expired_url_is_refused(self, host: PluginHost, store: Store) -> None:
        assert put(sign(host, store, "old.bin", "PUT"), b"x").status_code == 201
        expired = sign(host, store, "old.bin", at=now() - dt.timedelta(hours=2))
        assert requests.get(expired.url, timeout=10).status_code == 403

    def test_read_url_cannot_write(self, host: PluginHost, store: Store) -> None:
        read = sign(host, store, "ro.bin", "GET")
        response = requests.put(
            read.url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10
        )
        assert response.status_code == 403

    def test_write_url_cannot_read_or_delete(self, host: PluginHost, store: Store) -> None:
        write = sign(host, store, "wo.bin", "PUT")
        assert put(write, b"x").status_code == 201
        assert requests.get(write.url, timeout=10).status_code == 403
        assert requests.delete(write.url, timeout=10).status_code == 403

    def test_delete_url_deletes(self, host: PluginHost, store: Store) -> None:
        assert put(sign(host, store, "gone.bin", "PUT"), b"x").status_code == 201
        assert (
            requests.delete(sign(host, store, "gone.bin", "DELETE").url, timeout=10).status_code
            == 202
        )
        assert requests.get(sign(host, store, "gone.bin").url, timeout=10).status_code == 404

    def test_response_override_is_honoured(self, host: PluginHost, store: Store) -> None:
        assert put(sign(host, store, "d.bin", "PUT"), b"x").status_code == 201
        got = requests.get(
            sign(
                host,
                store,
                "d.bin",
                response_headers={"Content-Disposition": 'attachment; filename="d.bin"'},
            ).url,
            timeout=10,
        )
        assert got.status_code == 200
        assert got.headers["Content-Disposition"] == 'attachment; filename="d.bin"'

    def test_many_urls_in_one_call(self, host: PluginHost, store: Store) -> None:
        at = now()
        requests_ = [
            SignRequest(key=f"k/{i}", method="PUT", at=at, expires=dt.timedelta(hours=1))
            for i in range(50)
        ]
        signed = host.sign(store, requests_)
        assert [s.key for s in signed] == [r.key for r in requests_]
        assert put(signed[49], b"last").status_code == 201


class TestFilesystem:
    def test_adlfs_reads_what_a_signed_put_wrote(self, host: PluginHost, store: Store) -> None:
        assert put(sign(host, store, "fs/a.txt", "PUT"), b"hello").status_code == 201
        fs = host.filesystem(store)
        assert fs.cat_file(store.fs_path("fs/a.txt")) == b"hello"
        fs.pipe_file(store.fs_path("fs/b.txt"), b"world")
        got = requests.get(sign(host, store, "fs/b.txt").url, timeout=10)
        assert got.content == b"world"
        assert sorted(fs.ls(store.fs_path("fs"), detail=False)) == [
            store.fs_path("fs/a.txt"),
            store.fs_path("fs/b.txt"),
        ]

    def test_connection_string_round_trip(self, azurite: str, store: Store) -> None:
        from byob_core.uris import parse

        key = store.credentials.account_key
        assert key
        url = (
            f"az://:{urllib.parse.quote(key, safe='')}@devstoreaccount1/cont/sub?endpoint="
            + urllib.parse.quote(f"http://{azurite}", safe="")
        )
        store = parse(url)
        assert (store.provider, store.account, store.container, store.subpath, store.tls) == (
            "azure",
            "devstoreaccount1",
            "cont",
            "sub",
            False,
        )
        assert clients.base_url(store) == f"http://{azurite}"
        assert key not in repr(store)

    def test_public_cloud_endpoint(self) -> None:
        store = Store(provider="azure", account="acme", bucket="wandb")
        assert clients.base_url(store) == "https://acme.blob.core.windows.net"
        assert clients.auth_mode(store) == "ambient Entra ID credential"


class TestClientCache:
    def test_clients_and_signers_follow_credentials_and_options(self, store: Store) -> None:
        import attrs
        from byob_core.stores import Credentials

        other_key = attrs.evolve(store, credentials=Credentials(account_key="b3RoZXIga2V5"))
        assert clients.service(store) is clients.service(store)
        assert clients.service(other_key) is not clients.service(store)
        pinned = attrs.evolve(store, options={"sas_version": "2021-08-06"})
        assert clients.signer(pinned).version == "2021-08-06"
        assert clients.signer(store).version == "2025-11-05"

    def test_pinned_older_signed_version_is_accepted(self, host: PluginHost, store: Store) -> None:
        import attrs

        pinned = attrs.evolve(store, options={"sas_version": "2021-08-06"})
        up = sign(host, pinned, "old-sv.bin", "PUT")
        assert "sv=2021-08-06" in up.url
        assert put(up, b"v").status_code == 201
        assert requests.get(sign(host, pinned, "old-sv.bin").url, timeout=10).content == b"v"
