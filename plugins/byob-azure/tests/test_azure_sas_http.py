"""An Azure store reached with a SAS token at an ``http://`` endpoint works through
``byob://`` (adlfs alone would always speak TLS to it)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from byob_azure import clients
from byob_core.api import Byob
from byob_core.config import Config
from byob_core.fs import ByobFileSystem
from byob_core.plugins import PluginHost
from byob_core.stores import Credentials, Store

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@pytest.fixture
def sas_store(azurite: str) -> Store:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    container = f"byob-sas-{uuid.uuid4().hex[:10]}"
    keyed = Store(
        provider="azure",
        account=ACCOUNT,
        bucket=container,
        endpoint=azurite,
        tls=False,
        credentials=Credentials(account_key=KEY),
    )
    clients.container(keyed).create_container()
    token = generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return Store(
        provider="azure",
        account=ACCOUNT,
        bucket=container,
        subpath="team",
        endpoint=azurite,
        tls=False,
        credentials=Credentials(sas_token=token),
    )


def test_sas_token_on_plain_http_reads_and_writes_through_byob_paths(sas_store, tmp_path):
    byob = Byob(
        Config(instance=None, teams={"omega": sas_store}, data_dir=tmp_path), PluginHost.load()
    )
    fs = ByobFileSystem(byob=byob, skip_instance_cache=True)
    fs.pipe_file("byob://omega/runs/a.bin", b"over http with a SAS")
    assert fs.cat_file("byob://omega/runs/a.bin") == b"over http with a SAS"
    assert [p.rsplit("/", 1)[-1] for p in fs.find("byob://omega/runs")] == ["a.bin"]
    fs.rm_file("byob://omega/runs/a.bin")
    assert not fs.exists("byob://omega/runs/a.bin")
    underlying = clients.filesystem(sas_store)
    assert underlying.account_url.startswith("http://"), "the endpoint's scheme is kept"
