"""byob-azure on Azurite behind the fault-injecting proxy: every fault type, every verb."""

from __future__ import annotations

import pytest
from byob_azure import clients
from byob_core.stores import Credentials, Store
from byob_core.testing_faults import FaultContract

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public; documented by Microsoft).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class TestAzureUnderFaults(FaultContract):
    dialect = "azure"
    part_size = 64 * 1024  # Azure blocks have no lower bound

    @pytest.fixture
    def upstream(self, azurite: str) -> str:
        return azurite.split("/", 1)[0]

    def store_at(self, endpoint: str, bucket: str, **fields) -> Store:
        return Store(
            provider="azure",
            account=ACCOUNT,
            bucket=bucket,
            endpoint=f"{endpoint}/{ACCOUNT}",
            tls=False,
            credentials=Credentials(account_key=KEY),
            **fields,
        )

    def create_bucket(self, store: Store) -> None:
        clients.container(store).create_container()
