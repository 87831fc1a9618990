"""The S3-compatible worked example (docs/examples/byob-b2): under 60 lines on the documented
base, installed only as its own package, and conformant on a moto server and on Ceph RGW
(which verifies SigV4). The base's switches change exactly the steps they name."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from byob_core import ProviderSpec, uris
from byob_core.config import from_mapping
from byob_core.errors import ConfigError
from byob_core.plans import Action
from byob_core.provider import ProvisionContext
from byob_core.stores import Store
from byob_core.testing import ProviderContract

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "byob-b2" / "src" / "byob_b2" / "__init__.py"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from byob_aws.testing import FAKE_ENV, moto_server

    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            yield endpoint


def b2_uri(endpoint: str, access: str, secret: str, region: str, subpath: str = "team") -> str:
    host = endpoint.split("://", 1)[1]
    return (
        f"b2://{access}:{secret}@{host}/b2-{uuid.uuid4().hex[:12]}/{subpath}"
        f"?region={region}&tls=false&forcePathStyle=true"
    )


class TestB2OnMoto(ProviderContract):
    @pytest.fixture
    def store(self, moto_endpoint: str) -> Store:
        from byob_aws.testing import ACCESS_KEY, REGION, SECRET_KEY

        return uris.parse(b2_uri(moto_endpoint, ACCESS_KEY, SECRET_KEY, REGION), environ={})


class TestB2OnCephRgw(ProviderContract):
    @pytest.fixture
    def store(self, rgw) -> Store:  # type: ignore[no-untyped-def]
        import attrs

        store = uris.parse(
            b2_uri(rgw.endpoint, rgw.access_key, rgw.secret_key, rgw.region), environ={}
        )
        # The suite's RGW has no SSE backend (it refuses even SSE-S3 with InvalidArgument),
        # so default encryption is not asked for here; everything else is.
        return attrs.evolve(store, options={"encryption": "none"})


class TestTheExample:
    def test_it_is_under_60_lines(self) -> None:
        assert len(EXAMPLE.read_text().splitlines()) < 60

    def test_the_region_alone_names_b2s_endpoint(self) -> None:
        store = uris.parse("b2://K005abc:c2VjcmV0LWFwcA@us-west-004/ml/wandb", environ={})
        assert (store.provider, store.endpoint, store.region) == (
            "b2",
            "s3.us-west-004.backblazeb2.com",
            "us-west-004",
        )
        host = uris.parse("b2://K:c2VjcmV0LWFwcA@s3.eu-central-003.backblazeb2.com/ml", environ={})
        assert host.region == "eu-central-003"

    def test_a_store_without_a_region_is_a_config_problem(self) -> None:
        data = {
            "teams": {"omega": {"store": "b2://K:c2VjcmV0LWFwcA@b2.internal:9000/ml/omega"}},
        }
        with pytest.raises(ConfigError, match=r"teams\.omega.*region.*b2://<keyID>"):
            from_mapping(data, environ={"GORILLA_SUPPORTED_FILE_STORES": ""})

    def test_saas_refuses_it_as_s3_compatible(self) -> None:
        data = {
            "deployment": "saas",
            "teams": {"omega": {"store": "b2://K:c2VjcmV0LWFwcA@us-west-004/ml/omega"}},
        }
        env = {"GORILLA_SUPPORTED_FILE_STORES": "b2://K:c2VjcmV0LWFwcA@us-west-004/ml"}
        with pytest.raises(ConfigError, match="SaaS row: no S3-compatible stores"):
            from_mapping(data, environ=env)

    def test_the_plan_asks_only_for_what_b2_has(self, moto_endpoint: str) -> None:
        from byob_aws.testing import ACCESS_KEY, REGION, SECRET_KEY
        from byob_core.api import Byob
        from byob_core.config import Config

        store = uris.parse(b2_uri(moto_endpoint, ACCESS_KEY, SECRET_KEY, REGION), environ={})
        plan = Byob(Config(instance=store, data_dir=Path("/tmp/byob-b2-plan"))).plan()
        names = {c.name for c in plan.changes}
        assert "versioning" in names
        assert not any("public-access" in n or n.startswith("kms") for n in names)


class TestTheSwitches:
    """S3CompatibleProvider's switches, each seen in a plan on moto."""

    @staticmethod
    def plan(moto_endpoint: str, **switches: bool) -> dict[str, Action]:
        from byob_aws.testing import ACCESS_KEY, REGION, SECRET_KEY
        from byob_minio import S3CompatibleProvider

        spec = ProviderSpec(name="b2", family="s3-compatible")
        provider = S3CompatibleProvider(spec, server="Example", **switches)
        store = uris.parse(b2_uri(moto_endpoint, ACCESS_KEY, SECRET_KEY, REGION), environ={})
        plan = provider.provision(store, ProvisionContext(apply=True))
        return {c.name: c.action for c in plan.changes}

    def test_versioning_off_asks_for_none(self, moto_endpoint: str) -> None:
        assert self.plan(moto_endpoint, versioning=False)["versioning"] is Action.NONE
        assert self.plan(moto_endpoint, versioning=True)["versioning"] is Action.UPDATE

    def test_public_access_block_on_adds_byob_aws_step(self, moto_endpoint: str) -> None:
        assert not any("public" in n for n in self.plan(moto_endpoint))
        changes = self.plan(moto_endpoint, public_access_block=True)
        assert any("public-access-block" in n for n in changes), changes

    def test_kms_on_asks_for_sse_kms_with_the_configured_key(self, moto_endpoint: str) -> None:
        import boto3
        from byob_aws.testing import ACCESS_KEY, REGION, SECRET_KEY
        from byob_minio import S3CompatibleProvider

        kms = boto3.client(
            "kms",
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        arn = kms.create_key()["KeyMetadata"]["Arn"]
        provider = S3CompatibleProvider(ProviderSpec(name="b2"), server="Example", kms=True)
        store = uris.parse(b2_uri(moto_endpoint, ACCESS_KEY, SECRET_KEY, REGION), environ={})
        import attrs

        store = attrs.evolve(store, kms_key_arn=arn)
        provider.provision(store, ProvisionContext(apply=True))
        from byob_aws import s3

        rules = s3.client(store).get_bucket_encryption(Bucket=store.bucket)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        default = rules[0]["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms" and default["KMSMasterKeyID"] == arn

    def test_policies_off_skips_the_public_check(self, moto_endpoint: str) -> None:
        from byob_aws.testing import ACCESS_KEY, REGION, SECRET_KEY
        from byob_core.provider import ValidateContext
        from byob_minio import S3CompatibleProvider

        store = uris.parse(b2_uri(moto_endpoint, ACCESS_KEY, SECRET_KEY, REGION), environ={})
        on = S3CompatibleProvider(ProviderSpec(name="b2"), server="Example")
        off = S3CompatibleProvider(ProviderSpec(name="b2"), server="Example", policies=False)
        on.provision(store, ProvisionContext(apply=True))
        status = {f.check: f.status.value for f in on.validate(store, ValidateContext())}
        assert status["b2.public"] == "pass"
        status = {f.check: f.status.value for f in off.validate(store, ValidateContext())}
        assert status["b2.public"] == "skip"
