"""byob-minio against a server that checks what it is sent: Ceph RGW.

moto accepts any signature; RGW does not. These tests send what byob signs to RGW and
prove that a correct request is accepted and that each kind of wrong one is refused.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from byob_core.api import Byob
from byob_core.config import Config
from byob_core.plugins import PluginHost
from byob_core.stores import Credentials, Store


def rgw_store(rgw, **fields) -> Store:
    fields.setdefault(
        "credentials", Credentials(access_key=rgw.access_key, secret_key=rgw.secret_key)
    )
    return Store(
        provider="minio",
        bucket=fields.pop("bucket", f"byob-rgw-{uuid.uuid4().hex[:12]}"),
        endpoint=rgw.host,
        tls=False,
        path_style=True,
        region=rgw.region,
        **fields,
    )


def byob_for(store: Store, tmp_path) -> Byob:
    return Byob(Config(instance=store, data_dir=tmp_path), PluginHost.load())


@pytest.fixture
def bucket(rgw):
    """A fresh bucket on RGW, made with boto3 (not byob) so the tests below depend on the server only."""
    import boto3
    from botocore.config import Config as BotoConfig

    client = boto3.client(
        "s3",
        endpoint_url=rgw.endpoint,
        aws_access_key_id=rgw.access_key,
        aws_secret_access_key=rgw.secret_key,
        region_name=rgw.region,
        config=BotoConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    name = f"byob-rgw-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


class TestTheServerVerifies:
    """The fixture is worth having only if RGW really refuses what moto lets through."""

    def test_a_signed_put_and_get_round_trip(self, rgw, bucket, tmp_path):
        byob = byob_for(rgw_store(rgw, bucket=bucket, subpath="wandb"), tmp_path)
        [put] = byob.sign(["a.bin"], method="PUT")
        answer = requests.put(put.url, data=b"payload", headers=put.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        [get] = byob.sign(["a.bin"])
        answer = requests.get(get.url, timeout=30)
        assert (answer.status_code, answer.content) == (200, b"payload")

    def test_a_tampered_signature_is_refused(self, rgw, bucket, tmp_path):
        byob = byob_for(rgw_store(rgw, bucket=bucket), tmp_path)
        [get] = byob.sign(["a.bin"])
        last = get.url[-1]
        tampered = get.url[:-1] + ("0" if last != "0" else "1")
        assert requests.get(tampered, timeout=30).status_code == 403

    def test_another_secret_key_is_refused(self, rgw, bucket, tmp_path):
        wrong = Credentials(access_key=rgw.access_key, secret_key=rgw.other_secret_key)
        byob = byob_for(rgw_store(rgw, bucket=bucket, credentials=wrong), tmp_path)
        [get] = byob.sign(["a.bin"])
        assert requests.get(get.url, timeout=30).status_code == 403


# -- what the CLI prints, sent to RGW verbatim ---------------------------------------------
def cli_config(tmp_path, monkeypatch, store: Store):
    """A byob.toml whose team ``t`` is `store` (allowed by GORILLA_SUPPORTED_FILE_STORES)."""
    from byob_core import uris

    uri = uris.format(store)
    monkeypatch.setenv("GORILLA_SUPPORTED_FILE_STORES", uri)
    path = tmp_path / "byob.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\n\n'
        f'[instance]\nprovider = "file"\nbucket = "{tmp_path / "instance"}"\n\n'
        f'[teams.t]\nstore = "{uri}"\n',
        encoding="utf-8",
    )
    return path


def printed(capsys, config, *argv: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, url, headers) of each request `python -m byob_core sign` prints as text."""
    from byob_core.cli import main

    assert main(["sign", "--config", str(config), "--team", "t", *argv]) == 0
    out = capsys.readouterr().out
    requests_: list[tuple[str, str, dict[str, str]]] = []
    for line in out.splitlines():
        if line.startswith("  header "):
            name, _, value = line[len("  header ") :].partition(":")
            requests_[-1][2][name] = value
        else:
            method, url = line.split(" ", 1)
            requests_.append((method, url, {}))
    return requests_


def printed_json(capsys, config, *argv: str) -> list[dict]:
    import json

    from byob_core.cli import main

    assert main(["sign", "--config", str(config), "--team", "t", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def tamper(url: str) -> str:
    head, _, signature = url.rpartition("X-Amz-Signature=")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    return f"{head}X-Amz-Signature={flipped}"


class TestPrintedUrls:
    """Every URL the CLI prints works on a server that verifies it; every variant is refused."""

    @pytest.fixture
    def config(self, rgw, bucket, tmp_path, monkeypatch):
        return cli_config(tmp_path, monkeypatch, rgw_store(rgw, bucket=bucket, subpath="wandb"))

    def test_text_urls_work_verbatim(self, rgw, config, capsys):
        [(method, url, headers)] = printed(
            capsys, config, "--method", "PUT", "--content-type", "text/plain", "cli/a.txt"
        )
        assert method == "PUT" and f"X-Amz-Credential={rgw.access_key}%2F" in url
        assert rgw.secret_key not in url
        answer = requests.put(url, data=b"printed", headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        [(_, get, _)] = printed(capsys, config, "--user", "alice", "cli/a.txt")
        answer = requests.get(get, timeout=30)
        assert (answer.status_code, answer.content) == (200, b"printed")
        [(_, head, _)] = printed(capsys, config, "--method", "HEAD", "cli/a.txt")
        assert requests.head(head, timeout=30).status_code == 200
        [(_, delete, _)] = printed(capsys, config, "--method", "DELETE", "cli/a.txt")
        assert requests.delete(delete, timeout=30).status_code == 204
        assert requests.get(get, timeout=30).status_code == 404

    def test_json_urls_work_verbatim(self, config, capsys):
        [put] = printed_json(capsys, config, "--method", "PUT", "cli/j.bin", "--expires", "600")
        headers = dict(h.split(":", 1) for h in put["headers"])
        assert (
            requests.put(put["url"], data=b"json", headers=headers, timeout=30).status_code == 200
        )
        [get, other] = printed_json(capsys, config, "cli/j.bin", "cli/none.bin")
        assert requests.get(get["url"], timeout=30).content == b"json"
        assert requests.get(other["url"], timeout=30).status_code == 404  # signed, no object

    def test_tampered_expired_wrong_method_and_wrong_key_are_refused(
        self, rgw, bucket, config, capsys, tmp_path, monkeypatch
    ):
        import datetime as dt

        [(_, put, headers)] = printed(capsys, config, "--method", "PUT", "cli/r.bin")
        assert requests.put(put, data=b"r", headers=headers, timeout=30).status_code == 200
        [(_, get, _)] = printed(capsys, config, "cli/r.bin")
        assert requests.get(get, timeout=30).status_code == 200

        assert requests.get(tamper(get), timeout=30).status_code == 403
        assert requests.get(get.replace("/r.bin?", "/s.bin?"), timeout=30).status_code == 403
        assert requests.delete(get, timeout=30).status_code == 403  # a GET URL sent as DELETE
        assert requests.put(get, data=b"x", timeout=30).status_code == 403
        assert requests.get(put, timeout=30).status_code == 403  # a PUT URL sent as GET

        an_hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        [(_, expired, _)] = printed(
            capsys, config, "--at", an_hour_ago, "--expires", "60", "cli/r.bin"
        )
        assert requests.get(expired, timeout=30).status_code == 403
        [[_, json_expired]] = [
            (r["method"], r["url"])
            for r in printed_json(
                capsys, config, "--at", an_hour_ago, "--expires", "60", "cli/r.bin"
            )
        ]
        assert requests.get(json_expired, timeout=30).status_code == 403

        wrong = Credentials(access_key=rgw.access_key, secret_key=rgw.other_secret_key)
        other = tmp_path / "other"
        other.mkdir()
        wrong_config = cli_config(
            other, monkeypatch, rgw_store(rgw, bucket=bucket, subpath="wandb", credentials=wrong)
        )
        [(_, forged, _)] = printed(capsys, wrong_config, "cli/r.bin")
        assert requests.get(forged, timeout=30).status_code == 403
        another_user = Credentials(access_key=rgw.other_access_key, secret_key=rgw.other_secret_key)
        third = tmp_path / "third"
        third.mkdir()
        their_config = cli_config(
            third,
            monkeypatch,
            rgw_store(rgw, bucket=bucket, subpath="wandb", credentials=another_user),
        )
        [(_, theirs, _)] = printed(capsys, their_config, "cli/r.bin")
        assert requests.get(theirs, timeout=30).status_code == 403  # not their bucket
