"""byob-aws on moto behind the fault-injecting proxy: every fault type, every verb."""

from __future__ import annotations

import pytest
from byob_aws import s3
from byob_aws.testing import ACCESS_KEY, REGION, SECRET_KEY
from byob_core.stores import Credentials, Store
from byob_core.testing_faults import FaultContract


class TestAwsUnderFaults(FaultContract):
    dialect = "s3"

    @pytest.fixture
    def upstream(self, moto_endpoint: str) -> str:
        return moto_endpoint.split("://", 1)[1]

    def store_at(self, endpoint: str, bucket: str, **fields) -> Store:
        return Store(
            provider="aws",
            bucket=bucket,
            endpoint=endpoint,
            tls=False,
            path_style=True,
            region=REGION,
            credentials=Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY),
            **fields,
        )

    def create_bucket(self, store: Store) -> None:
        s3.client(store).create_bucket(Bucket=store.bucket)


def test_cli_gc_that_gives_up_exits_1_saying_what_it_did_and_the_rerun_finishes(
    moto_endpoint: str, tmp_path, capsys
) -> None:
    import json
    import time

    from byob_core import cli
    from byob_core.testing_proxy import FaultProxy

    upstream = moto_endpoint.split("://", 1)[1]
    bucket = "byob-gives-up"
    client = s3.client(TestAwsUnderFaults().store_at(upstream, bucket))
    client.create_bucket(Bucket=bucket)
    for i in range(5):
        client.put_object(Bucket=bucket, Key=f"team/runs/o{i}.bin", Body=b"x")
    time.sleep(1.1)
    live = tmp_path / "live.txt"
    live.write_text("runs/o0.bin\n")
    with FaultProxy(upstream) as proxy:
        config = tmp_path / "byob.toml"
        config.write_text(
            f"data_dir = '{tmp_path / 'state'}'\n[instance]\nprovider = 'aws'\n"
            f"bucket = '{bucket}'\nsubpath = 'team'\nregion = '{REGION}'\n"
            f"endpoint = '{proxy.url}'\npath_style = true\n"
            f"access_key = '{ACCESS_KEY}'\nsecret_key = '{SECRET_KEY}'\n"
            "[instance.options]\nretries = 1\ntimeout = 2\n"
        )
        argv = ["gc", "--config", str(config), "--live", str(live), "--grace", "0s"]
        proxy.configure(
            faults=["503"],
            fraction=1.0,
            max_run=10**9,
            match=lambda method, target, _: method == "POST" and "delete" in target,
        )
        assert cli.main(argv) == 1
        text = capsys.readouterr().out
        assert "gave up: StoreAccessError" in text
        assert "not deleted team/runs/o1.bin" in text
        assert "Run the same command again to finish" in text
        assert cli.main([*argv, "--json"]) == 1
        data = json.loads(capsys.readouterr().out)
        assert data["complete"] is False and data["not_deleted"]
        proxy.configure()  # the store is back
        assert cli.main(argv) == 0
    left = client.list_objects_v2(Bucket=bucket, Prefix="team/")["Contents"]
    assert [o["Key"] for o in left] == ["team/runs/o0.bin"]
