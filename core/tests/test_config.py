"""Configuration: the TOML file, stores as strings or tables, every problem at once, the
deployment matrix, the allow-list, the embedded default, scopes and visibility."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from byob_core import config
from byob_core.config import INSTANCE, Config
from byob_core.errors import ConfigError

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY=="
ENC = quote(SECRET, safe="")
MINIO = f"s3://MINIOAK:{ENC}@minio.local:9000/shared?region=us-east-1"
GCS_SA = "byob@acme.iam.gserviceaccount.com"
PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC+/=\n-----END PRIVATE KEY-----\n"
)


def build(data: dict[str, Any], **environ: str) -> Config:
    environ.setdefault("BYOB_DATA_DIR", "/nonexistent/byob-test-data")
    return config.from_mapping(data, environ=environ)


def problems(data: dict[str, Any], **environ: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        build(data, **environ)
    found: dict[str, str] = {}
    for key, message in caught.value.problems:
        found[key] = found.get(key, "") + message + " | "
    return found


class TestLoadingTheFile:
    TOML = """
deployment = "self-managed"

[instance]
store = "s3://acme-ml/wandb"

[teams.omega]
provider = "gcp"
bucket = "omega-bucket"
subpath = "/runs/"
"""

    def test_a_path_is_read(self, tmp_path: Path) -> None:
        path = tmp_path / "byob.toml"
        path.write_text(self.TOML)
        cfg = config.load(path, environ={"GORILLA_SUPPORTED_FILE_STORES": "gs://omega-bucket/runs"})
        assert cfg.instance is not None and cfg.instance.bucket == "acme-ml"
        assert cfg.teams["omega"].subpath == "runs"
        assert cfg.source == path

    def test_byob_config_names_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "elsewhere.toml"
        path.write_text(self.TOML)
        cfg = config.load(
            environ={"BYOB_CONFIG": str(path), "GORILLA_SUPPORTED_FILE_STORES": "gs://omega-bucket"}
        )
        assert cfg.source == path

    def test_a_path_wins_over_byob_config(self, tmp_path: Path) -> None:
        (tmp_path / "a.toml").write_text('[instance]\nstore = "s3://from-path"\n')
        (tmp_path / "b.toml").write_text('[instance]\nstore = "s3://from-env"\n')
        cfg = config.load(tmp_path / "a.toml", environ={"BYOB_CONFIG": str(tmp_path / "b.toml")})
        assert cfg.instance is not None and cfg.instance.bucket == "from-path"

    def test_a_missing_file_is_a_config_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="does not exist"):
            config.load(tmp_path / "nope.toml", environ={})

    def test_invalid_toml_is_a_config_error_naming_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.toml"
        path.write_text("[instance\nstore = 1\n")
        with pytest.raises(ConfigError, match=r"bad\.toml.*not valid TOML"):
            config.load(path, environ={})


class TestEmbeddedDefault:
    def test_no_configuration_means_a_file_store_under_the_data_dir(self, tmp_path: Path) -> None:
        cfg = config.load(environ={"BYOB_DATA_DIR": str(tmp_path)})
        assert cfg.instance is not None
        assert (cfg.instance.provider, cfg.instance.bucket) == ("file", str(tmp_path / "store"))
        assert cfg.teams == {}
        assert cfg.source is None

    def test_the_data_dir_defaults_under_xdg_data_home(self, tmp_path: Path) -> None:
        assert config.data_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "byob"

    def test_a_config_toml_in_the_data_dir_is_picked_up(self, tmp_path: Path) -> None:
        (tmp_path / "config.toml").write_text('[instance]\nstore = "s3://found-it"\n')
        cfg = config.load(environ={"BYOB_DATA_DIR": str(tmp_path)})
        assert cfg.instance is not None and cfg.instance.bucket == "found-it"


class TestStoresAsStringsOrTables:
    def test_a_bare_connection_string(self) -> None:
        cfg = build({"instance": "s3://acme/wandb", "teams": {"omega": "s3://omega-ml/x"}})
        assert cfg.teams["omega"].bucket == "omega-ml"

    def test_a_table_with_a_store_string_and_extras(self) -> None:
        cfg = build(
            {
                "instance": {
                    "store": "s3://acme/wandb?region=us-east-1",
                    "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
                    "options": {"noncurrent_days": 7},
                }
            }
        )
        assert cfg.instance is not None
        assert cfg.instance.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/k"
        assert cfg.instance.options == {"noncurrent_days": 7}

    def test_a_table_of_fields(self) -> None:
        cfg = build(
            {
                "instance": {
                    "provider": "azure",
                    "account": "acmestorage",
                    "container": "wandb",
                    "subpath": "/instance/",
                    "tenant_id": "t-1",
                    "client_id": "c-1",
                }
            }
        )
        store = cfg.instance
        assert store is not None
        assert (store.provider, store.account, store.container, store.bucket, store.subpath) == (
            "azure",
            "acmestorage",
            "wandb",
            "wandb",
            "instance",
        )
        assert (store.tenant_id, store.client_id) == ("t-1", "c-1")
        assert not store.credentials

    def test_an_s3_compatible_table(self) -> None:
        store = config.store_from_table(
            {"provider": "minio", "bucket": "b", "endpoint": "http://minio:9000", "region": "r"},
            environ={},
        )
        assert (store.endpoint, store.tls, store.path_style) == ("minio:9000", False, True)

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"access_key": "AKIAX", "secret_key": SECRET}, ("access_key", "secret_key")),
            ({"account_key": SECRET}, ("account_key",)),
            ({"private_key": PEM, "service_account": GCS_SA}, ("private_key",)),
            ({}, ()),
        ],
    )
    def test_credential_fields(self, fields: dict[str, str], expected: tuple[str, ...]) -> None:
        provider = {"account_key": "azure", "private_key": "gcp"}.get(next(iter(fields), ""), "aws")
        table: dict[str, Any] = {"provider": provider, "bucket": "b", **fields}
        if provider == "azure":
            table["account"] = "acct"
        store = build({"instance": table}).instance
        assert store is not None
        assert store.credentials.set_fields() == expected
        assert SECRET not in repr(store)

    def test_credentials_next_to_a_store_string(self) -> None:
        cfg = build(
            {"instance": {"store": "s3://acme", "access_key": "AKIAX", "secret_key": SECRET}}
        )
        assert cfg.instance is not None and cfg.instance.credentials.secret_key == SECRET

    def test_a_team_listed_without_a_store_uses_the_instance(self) -> None:
        cfg = build({"instance": "s3://acme", "teams": {"kappa": {}}})
        assert "kappa" not in cfg.teams
        assert cfg.resolve("kappa").scope == "instance"


class TestEveryProblemAtOnce:
    def test_a_file_with_many_errors_reports_all_of_them_with_their_keys(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "broken.toml"
        path.write_text(
            """
deployment = "hybrid"
cloud = "mars"
colour = "blue"

[platform]
aws_role = "x"

[instance]
provider = "aws"

[teams.omega]
store = "s3://AK:wJalrXUtnFEMI@minio:9000/b"

[teams.kappa]
provider = "minio"
bucket = "k"
tls = "yes"
subpath = "a/../b"
"""
        )
        with pytest.raises(ConfigError) as caught:
            config.load(path, environ={})
        error = caught.value
        keys = [key for key, _ in error.problems]
        assert set(keys) >= {
            "deployment",
            "cloud",
            "colour",
            "platform.aws_role",
            "instance.bucket",
            "teams.omega.store",
            "teams.kappa.tls",
            "teams.kappa.subpath",
            "teams.kappa.region",
            "teams.kappa.endpoint",
        }
        text = str(error)
        assert f"({len(error.problems)} problems)" in text
        assert "broken.toml" in text
        for key in keys:
            assert f"{key}: " in text
        assert "wJalrXUtnFEMI" not in text
        assert "region is required" in dict(error.problems)["teams.omega.store"]

    def test_a_config_error_survives_pickling_with_its_problems(self) -> None:
        import pickle

        error = ConfigError([("instance.bucket", "missing"), ("cloud", "bad")], source="byob.toml")
        again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        assert (again.problems, again.source, str(again)) == (
            error.problems,
            error.source,
            str(error),
        )

    def test_a_config_error_is_a_value_error(self) -> None:
        with pytest.raises(ValueError):
            build({"deployment": "nope"})

    def test_a_store_string_with_extra_fields_is_refused(self) -> None:
        assert "teams.t.bucket" in problems({"teams": {"t": {"store": "s3://a", "bucket": "b"}}})

    def test_an_unknown_table_field_is_refused(self) -> None:
        assert "instance.buckett" in problems(
            {"instance": {"provider": "aws", "bucket": "b", "buckett": "c"}}
        )


class TestDeploymentMatrix:
    def test_self_managed_is_the_default_and_allows_anything(self) -> None:
        cfg = build(
            {
                "instance": MINIO,
                "teams": {"f": "file:///tmp/byob-f", "a": "s3://aws-bucket", "z": "az://acct/c"},
            },
            GORILLA_SUPPORTED_FILE_STORES="s3://aws-bucket,az://acct/c",
        )
        assert cfg.deployment == "self-managed"
        assert cfg.instance is not None and cfg.instance.provider == "minio"

    def test_saas_has_no_instance_store(self) -> None:
        found = problems({"deployment": "saas", "instance": "s3://acme"})
        assert (
            "SaaS row" in found["instance"] and "instance store not applicable" in found["instance"]
        )

    def test_saas_without_instance_is_fine_and_cloud_is_gcp(self) -> None:
        cfg = build({"deployment": "saas", "teams": {"omega": "gs://omega", "a": "s3://aws-team"}})
        assert cfg.instance is None
        assert cfg.cloud == "gcp"
        with pytest.raises(ConfigError, match="no instance store"):
            cfg.resolve("kappa")

    def test_saas_refuses_azure_team_stores(self) -> None:
        found = problems({"deployment": "saas", "teams": {"z": "az://acct/c"}})
        assert "SaaS row" in found["teams.z"] and "Azure" in found["teams.z"]

    def test_saas_refuses_s3_compatible_team_stores(self) -> None:
        found = problems(
            {"deployment": "saas", "teams": {"m": MINIO}}, GORILLA_SUPPORTED_FILE_STORES=MINIO
        )
        assert "S3-compatible" in found["teams.m"] and "SaaS row" in found["teams.m"]

    def test_saas_connects_aws_by_role_not_keys(self) -> None:
        found = problems(
            {
                "deployment": "saas",
                "teams": {
                    "a": {
                        "provider": "aws",
                        "bucket": "b",
                        "access_key": "AK",
                        "secret_key": SECRET,
                    }
                },
            }
        )
        assert "by role" in found["teams.a"]
        assert SECRET not in found["teams.a"]

    def test_saas_aws_team_by_role_needs_no_allow_list_entry(self) -> None:
        assert (
            build({"deployment": "saas", "teams": {"a": "s3://aws-team"}}).teams["a"].provider
            == "aws"
        )

    def test_dedicated_keeps_the_instance_on_a_cloud(self) -> None:
        for store in ("file:///tmp/x", MINIO):
            found = problems({"deployment": "dedicated", "instance": store})
            assert "dedicated row" in found["instance"]

    def test_dedicated_allows_cross_cloud_and_s3_compatible_team_stores_when_listed(self) -> None:
        cfg = build(
            {
                "deployment": "dedicated",
                "instance": "s3://acme",
                "teams": {"g": "gs://g-bucket", "m": MINIO},
            },
            GORILLA_SUPPORTED_FILE_STORES=f"gs://g-bucket,{MINIO}",
        )
        assert cfg.cloud == "aws"
        assert set(cfg.teams) == {"g", "m"}

    def test_dedicated_refuses_a_file_team_store(self) -> None:
        found = problems(
            {"deployment": "dedicated", "instance": "s3://acme", "teams": {"f": "file:///tmp/x"}}
        )
        assert "dedicated row" in found["teams.f"]


class TestPrincipals:
    def test_saas_and_dedicated_have_default_principals(self) -> None:
        saas = build({"deployment": "saas"}).principals
        dedicated = build({"deployment": "dedicated", "instance": "s3://a"}).principals
        assert saas.aws_principal and saas.gcp_service_account
        assert dedicated.aws_principal and dedicated.gcp_service_account
        assert saas != dedicated
        assert saas.aws_principal == config.DEFAULT_PRINCIPALS["saas"]["aws_principal"]

    def test_self_managed_names_its_own(self) -> None:
        assert build({}).principals.aws_principal is None
        cfg = build({"platform": {"aws_principal": "arn:aws:iam::111122223333:role/wandb"}})
        assert cfg.principals.for_provider("minio") == "arn:aws:iam::111122223333:role/wandb"

    def test_configured_principals_override_the_default(self) -> None:
        cfg = build(
            {
                "deployment": "saas",
                "platform": {"gcp_service_account": "me@p.iam.gserviceaccount.com"},
            }
        )
        assert cfg.principals.for_provider("gcp") == "me@p.iam.gserviceaccount.com"


class TestAllowList:
    def test_an_s3_compatible_team_store_missing_from_the_allow_list_is_an_error(self) -> None:
        found = problems({"instance": "s3://acme", "teams": {"m": MINIO}})
        assert "GORILLA_SUPPORTED_FILE_STORES" in found["teams.m"]
        assert SECRET not in found["teams.m"] and ENC not in found["teams.m"]

    def test_a_cross_cloud_team_store_missing_from_the_allow_list_is_an_error(self) -> None:
        found = problems(
            {"instance": "s3://acme", "teams": {"g": "gs://g-bucket", "z": "az://acct/c"}}
        )
        assert "cross-cloud" in found["teams.g"] and "cross-cloud" in found["teams.z"]

    def test_a_same_cloud_team_store_needs_no_entry(self) -> None:
        assert (
            build({"instance": "s3://acme", "teams": {"a": "s3://other"}}).teams["a"].bucket
            == "other"
        )

    def test_present_is_fine_and_fills_credentials_from_the_entry(self) -> None:
        cfg = build(
            {
                "instance": "s3://acme",
                "teams": {
                    "m": {
                        "provider": "minio",
                        "bucket": "shared",
                        "endpoint": "http://minio.local:9000",
                        "region": "us-east-1",
                    },
                    "g": "gs://g-bucket/omega",
                },
            },
            GORILLA_SUPPORTED_FILE_STORES=f" {MINIO} , gs://{GCS_SA}:{quote(PEM, safe='')}@g-bucket",
        )
        assert cfg.teams["m"].credentials.access_key == "MINIOAK"
        assert cfg.teams["m"].credentials.secret_key == SECRET
        assert cfg.teams["g"].credentials.private_key == PEM
        assert cfg.teams["g"].service_account == GCS_SA
        assert len(cfg.allow_list) == 2

    def test_an_entry_for_another_bucket_does_not_count(self) -> None:
        found = problems(
            {"instance": "s3://acme", "teams": {"m": MINIO}},
            GORILLA_SUPPORTED_FILE_STORES=MINIO.replace("/shared", "/other"),
        )
        assert "teams.m" in found

    def test_a_bad_entry_is_reported_by_position_without_its_secret(self) -> None:
        found = problems({}, GORILLA_SUPPORTED_FILE_STORES=f"s3://bkt,s3://AK:{ENC}@minio:9000/b")
        assert "region is required" in found["GORILLA_SUPPORTED_FILE_STORES[1]"]
        assert SECRET not in str(found) and ENC not in str(found)


class TestSharedStores:
    def test_a_warning_when_two_stores_share_bucket_and_sub_path(self) -> None:
        cfg = build(
            {
                "instance": "s3://acme/wandb",
                "teams": {
                    "a": "s3://acme/wandb/",
                    "b": {"provider": "aws", "bucket": "acme", "subpath": "x"},
                },
            }
        )
        assert len(cfg.warnings) == 1
        assert "teams.a" in cfg.warnings[0] and "instance" in cfg.warnings[0]
        assert cfg.sharing(cfg.teams["a"]) == ["instance"]

    def test_distinct_sub_paths_in_one_bucket_are_fine(self) -> None:
        cfg = build({"instance": "s3://acme/i", "teams": {"a": "s3://acme/a", "b": "s3://acme/b"}})
        assert cfg.warnings == ()


class TestScopesAndVisibility:
    @pytest.fixture
    def seed(self) -> Config:
        """The seed's example: the organisation and Kappa use the instance store; Omega has its own."""
        return build(
            {"instance": "s3://acme/wandb", "teams": {"omega": "s3://omega-ml/wandb", "kappa": {}}}
        )

    def test_team_over_instance(self, seed: Config) -> None:
        omega, kappa = seed.resolve("omega"), seed.resolve("kappa")
        assert (omega.scope, omega.team, omega.store.bucket) == ("team", "omega", "omega-ml")
        assert (kappa.scope, kappa.team, kappa.store.bucket) == ("instance", "kappa", "acme")

    def test_without_a_team_the_instance_is_meant(self, seed: Config) -> None:
        assert seed.resolve(None).scope == "instance"
        assert seed.resolve(INSTANCE) == seed.resolve(None)

    def test_omegas_files_are_invisible_to_kappa(self, seed: Config) -> None:
        assert seed.can_read("omega", "omega")
        assert not seed.can_read("kappa", "omega")

    def test_kappas_files_in_the_instance_store_are_readable_by_omega(self, seed: Config) -> None:
        assert seed.can_read("kappa", "kappa")
        assert seed.can_read("omega", "kappa")
        assert seed.can_read("omega", None)

    def test_the_organisation_may_withhold_the_instance_store(self) -> None:
        cfg = build(
            {
                "instance": "s3://acme",
                "teams": {"omega": "s3://o"},
                "organization": {"instance_readable_by_teams": False},
            }
        )
        assert not cfg.can_read("omega", "kappa")
        assert cfg.can_read("kappa", "kappa")

    def test_isolating_kappa_needs_its_own_store(self) -> None:
        cfg = build({"instance": "s3://acme", "teams": {"omega": "s3://o", "kappa": "s3://k"}})
        assert not cfg.can_read("omega", "kappa")


class TestTeamNames:
    @pytest.mark.parametrize("name", ["_instance", "_x", "-a", "a b", "a/b", "", "é"])
    def test_bad_or_reserved_names_are_refused_in_the_file(self, name: str) -> None:
        found = problems({"teams": {name: "s3://b"}})
        assert f"teams.{name}" in found

    def test_the_reserved_name_is_explained(self) -> None:
        assert "'_instance'" in problems({"teams": {"_instance": "s3://b"}})["teams._instance"]

    @pytest.mark.parametrize("name", ["../etc", "a/b", "_other", ""])
    def test_bad_names_are_refused_on_resolve(self, name: str) -> None:
        with pytest.raises(ConfigError, match="invalid team name"):
            build({}).resolve(name)

    @pytest.mark.parametrize("name", ["omega", "Team-1", "a.b_c", "x" * 128])
    def test_good_names(self, name: str) -> None:
        assert build({"teams": {name: "file:///tmp/byob-t"}}).resolve(name).scope == "team"


class TestOrganization:
    """The visibility setting is checked strictly: a mistake must not open the instance store."""

    def test_instance_readable_by_teams_must_be_a_boolean(self) -> None:
        found = problems({"organization": {"instance_readable_by_teams": "no"}})
        assert "must be true or false" in found["organization.instance_readable_by_teams"]

    def test_a_misspelt_setting_is_an_error_not_ignored(self) -> None:
        assert "organization.instance_readable_by_team" in problems(
            {"organization": {"instance_readable_by_team": False}}
        )

    def test_organization_must_be_a_table(self) -> None:
        assert "organization" in problems({"organization": "acme"})


class TestWrongTypes:
    """A value of the wrong TOML type is a reported problem, never a crash."""

    @pytest.mark.parametrize(
        ("table", "key"),
        [
            ({"provider": "aws", "bucket": 5}, "instance.bucket"),
            ({"provider": "aws", "bucket": ["b"]}, "instance.bucket"),
            ({"provider": "aws", "bucket": "b", "secret_key": 12345678}, "instance.secret_key"),
            ({"provider": "aws", "bucket": "b", "options": "x"}, "instance.options"),
            ({"store": "s3://b", "options": "x"}, "instance.options"),
            ({"store": 5}, "instance.store"),
        ],
    )
    def test_reported_with_its_key(self, table: dict[str, Any], key: str) -> None:
        assert key in problems({"instance": table})

    def test_booleans_and_option_tables_are_fine(self) -> None:
        cfg = build(
            {
                "instance": {
                    "provider": "aws",
                    "bucket": "b",
                    "tls": False,
                    "options": {"noncurrent_days": 3},
                }
            }
        )
        assert cfg.instance is not None and cfg.instance.options == {"noncurrent_days": 3}
