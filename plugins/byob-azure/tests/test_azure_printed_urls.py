"""SAS URLs that ``python -m byob_core sign`` prints, sent to Azurite verbatim.

Azurite verifies every SAS: the printed URLs (text and ``--json``) work as printed, and a
changed signature is refused.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
import requests
from byob_core import uris
from byob_core.cli import main


@pytest.fixture
def config(store, tmp_path, monkeypatch):
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


def sign(capsys, config, *argv: str) -> str:
    assert main(["sign", "--config", str(config), "--team", "t", *argv]) == 0
    return capsys.readouterr().out


def tampered(url: str) -> str:
    """`url` with the first character of its signature changed (as printed, still encoded)."""
    head, _, rest = url.partition("&sig=")
    flipped = ("A" if rest[0] != "A" else "B") + rest[1:]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["sig"]
    return f"{head}&sig={flipped}"


def test_printed_sas_urls_work_and_tampered_ones_are_refused(store, config, capsys):
    lines = sign(capsys, config, "--method", "PUT", "--user", "alice", "cli/a b.txt").splitlines()
    method, url = lines[0].split(" ", 1)
    headers = dict(line[len("  header ") :].split(":", 1) for line in lines[1:])
    assert method == "PUT" and "sig=" in url and "***" not in url
    assert requests.put(url, data=b"printed", headers=headers, timeout=30).status_code == 201
    [get] = json.loads(sign(capsys, config, "--json", "cli/a b.txt"))
    answer = requests.get(get["url"], timeout=30)
    assert (answer.status_code, answer.content) == (200, b"printed")
    text_get = sign(capsys, config, "cli/a b.txt").split(" ", 1)[1].strip()
    assert requests.get(text_get, timeout=30).content == b"printed"
    assert requests.get(tampered(get["url"]), timeout=30).status_code == 403
    assert requests.get(tampered(text_get), timeout=30).status_code == 403
    assert requests.put(tampered(url), data=b"x", headers=headers, timeout=30).status_code == 403
