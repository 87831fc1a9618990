"""The open plugin contract: an outside plugin adds a provider with nothing but its own package.

Its schemes parse (generic form or its own `byob_parse_uri`), its stores are completed
once (`byob_complete_store`) with provider fields (`extras`, secret ones redacted), the
deployment matrix places it by `ProviderSpec.family`, a misspelt hook fails it alone,
and a provider with only `byob_providers` + `byob_filesystem` lists and collects through
the core's fallbacks. The real-server proofs are the two outside plugins under
``tests/outside`` (FTP on pyftpdlib, R2 on moto and Ceph RGW).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from byob_core import config, plugins, secrets, uris
from byob_core.api import Byob
from byob_core.cli import main
from byob_core.errors import ConfigError, UriError
from byob_core.findings import Status
from byob_core.objects import DeleteBatch, Kind, ListRequest
from byob_core.plugins import PluginHost
from byob_core.provider import ProviderSpec
from byob_core.stores import Store

_serial = itertools.count()
TOKEN = "tok-9f8e7d6c5b4a"  # a secret extra

# An outside provider: a declared scheme, a secret extra and a completion hook.
VAULT = """
import attrs
from byob_core import hookimpl
from byob_core.provider import ProviderSpec

COMPLETED = []

@hookimpl
def byob_providers():
    return [ProviderSpec(name="vault", schemes=("vault",), family="{family}",
                         secret_extras=("token",), can_sign=False, max_expiry=None)]

@hookimpl
def byob_complete_store(store):
    COMPLETED.append(store.bucket)
    region = store.region or store.extras.get("zone", "zone-1")
    return attrs.evolve(store, region=region, endpoint=store.endpoint or "vault.example:443")
"""

# An outside provider with its own connection-string form: ``short://<bucket>``.
SHORT = """
from byob_core import Store, hookimpl
from byob_core.provider import ProviderSpec

@hookimpl
def byob_providers():
    return [ProviderSpec(name="short", schemes=("short",), family="other")]

@hookimpl
def byob_parse_uri(uri, scheme):
    if scheme != "short":
        return None
    return Store(scheme="short", provider="short", bucket=uri.split("://", 1)[1], subpath="fixed")

@hookimpl
def byob_format_uri(store):
    return f"short://{store.bucket}"
"""

# Only a declaration and a filesystem: a local directory without auto_mkdir, declared
# hierarchical, so the core creates folders, lists and deletes by itself.
DISK = """
from byob_core import hookimpl
from byob_core.provider import ProviderSpec

@hookimpl
def byob_providers():
    return [ProviderSpec(name="disk", schemes=("disk",), family="other", can_sign=False,
                         max_expiry=None, hierarchical=True, gc_batch_size=2)]

@hookimpl
def byob_filesystem(store):
    from fsspec.implementations.local import LocalFileSystem
    return LocalFileSystem(auto_mkdir=False)
"""

TYPO = """
from byob_core import hookimpl

@hookimpl
def byob_provison(store, context):
    return None
"""


class Site:
    """Throw-away plugin modules on sys.path, exposed as `byob` entry points."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.entry_points: list[metadata.EntryPoint] = []
        self.modules: dict[str, str] = {}
        monkeypatch.syspath_prepend(str(root))
        self._original = metadata.entry_points
        monkeypatch.setattr(plugins.metadata, "entry_points", self._entry_points)
        monkeypatch.delenv("BYOB_DISABLE_PLUGINS", raising=False)

    def _entry_points(self, **params: str) -> object:
        if params != {"group": "byob"}:  # fsspec reads its own groups
            return self._original(**params)
        return list(self.entry_points)

    def add(self, name: str, source: str, **fmt: str) -> str:
        module = f"byob_outside_{name}_{next(_serial)}"
        (self.root / f"{module}.py").write_text(
            textwrap.dedent(source.format(**fmt) if fmt else source)
        )
        self.entry_points.append(metadata.EntryPoint(name=name, value=module, group="byob"))
        self.modules[name] = module
        return module

    def module(self, name: str) -> object:
        return sys.modules[self.modules[name]]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    s = Site(tmp_path / "site", monkeypatch)
    s.root.mkdir()
    return s


class TestSchemes:
    def test_a_declared_scheme_parses_with_the_generic_form(self, site: Site) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        store = uris.parse(
            f"vault://KEYID:c2VjcmV0LWtleQ@vault.local:9000/ml/team/a?zone=eu-2&token={TOKEN}",
            environ={},
        )
        assert (store.provider, store.scheme, store.bucket, store.subpath) == (
            "vault",
            "vault",
            "ml",
            "team/a",
        )
        assert store.endpoint == "vault.local:9000"
        assert store.credentials.access_key == "KEYID"
        assert store.credentials.secret_key == "c2VjcmV0LWtleQ"
        assert dict(store.extras) == {"zone": "eu-2", "token": TOKEN}
        # completed once, by the plugin: the region comes from the zone extra
        assert store.region == "eu-2"
        assert site.module("vault").COMPLETED == ["ml"]  # type: ignore[attr-defined]

    def test_secret_extras_are_redacted_everywhere(self, site: Site) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        store = uris.parse(f"vault://vault.local/ml?token={TOKEN}", environ={})
        assert store.secret_extras == ("token",)
        assert TOKEN not in repr(store) and TOKEN not in json.dumps(store.to_dict())
        assert store.to_dict()["extras"] == {"token": "***"}
        assert secrets.redact(f"oops {TOKEN}") == "oops ***"
        shown = uris.format(store, redact=True)
        assert TOKEN not in shown and "token=***" in shown

    def test_the_generic_form_round_trips(self, site: Site) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        store = uris.parse(
            "vault://AK:c2VjcmV0LWtleQ@h.example:81/b/sub/dir?region=r1&tls=false&zone=z",
            environ={},
        )
        text = uris.format(store)
        again = uris.parse(text, environ={})
        assert again == store and again.credentials == store.credentials
        assert again.tls is False and again.region == "r1"

    def test_a_plugin_parses_and_formats_its_own_form(self, site: Site) -> None:
        site.add("short", SHORT)
        store = uris.parse("short://bucket-7", environ={})
        assert (store.provider, store.bucket, store.subpath) == ("short", "bucket-7", "fixed")
        assert uris.format(store) == "short://bucket-7"

    def test_the_builtin_schemes_are_the_cores_implementation_of_the_same_hook(self) -> None:
        host = PluginHost.load(entry_points=False)
        owners = {host.pm.get_name(i.plugin) for i in host.pm.hook.byob_parse_uri.get_hookimpls()}
        assert plugins.CORE in owners
        store = host.parse_uri("s3://acme/wandb", environ={})
        assert (store.provider, store.bucket, store.subpath) == ("aws", "acme", "wandb")
        assert host.format_uri(store) == "s3://acme/wandb"

    def test_an_unknown_scheme_names_the_known_ones(self, site: Site) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        with pytest.raises(UriError, match="unknown connection-string scheme 'nope'") as caught:
            uris.parse("nope://x/y", environ={})
        assert "vault://" in (caught.value.hint or "") and "s3://" in (caught.value.hint or "")

    def test_bad_generic_input_names_the_part_and_hides_the_secret(self, site: Site) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        with pytest.raises(UriError, match="names no bucket") as caught:
            uris.parse("vault://AK:c2VjcmV0LWtleQ@host.example", environ={})
        assert "c2VjcmV0LWtleQ" not in str(caught.value)

    def test_cli_parse_of_a_plugin_scheme(
        self, site: Site, capsys: pytest.CaptureFixture[str]
    ) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        code = main(["parse", "--json", f"vault://AK:c2VjcmV0LWtleQ@h.example/b?token={TOKEN}"])
        out = capsys.readouterr().out
        assert code == 0
        data = json.loads(out)
        assert data["provider"] == "vault" and data["extras"] == {"token": "***"}
        assert TOKEN not in out and "c2VjcmV0LWtleQ" not in out


class TestConfiguration:
    def test_extras_come_from_toml_tables(self, site: Site, tmp_path: Path) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        data = {
            "instance": {"store": f"file://{tmp_path}/i"},
            "teams": {
                "omega": {
                    "provider": "vault",
                    "bucket": "ml",
                    "subpath": "omega",
                    "extras": {"zone": "eu-9", "token": TOKEN},
                },
                "kappa": {"store": "vault://h.example/ml/kappa", "extras": {"zone": "us-3"}},
            },
        }
        env = {"GORILLA_SUPPORTED_FILE_STORES": "vault://h.example/ml,vault://vault.example:443/ml"}
        cfg = config.from_mapping(data, environ=env)
        omega, kappa = cfg.teams["omega"], cfg.teams["kappa"]
        assert omega.region == "eu-9" and omega.endpoint == "vault.example:443"
        assert omega.secret_extras == ("token",) and TOKEN in secrets.known()
        assert kappa.region == "us-3" and dict(kappa.extras) == {"zone": "us-3"}

    def test_an_s3_compatible_plugin_store_needs_the_allow_list(
        self, site: Site, tmp_path: Path
    ) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        data = {
            "instance": {"store": f"file://{tmp_path}/i"},
            "teams": {"omega": {"store": "vault://h.example/ml/omega"}},
        }
        with pytest.raises(ConfigError, match="must be listed in GORILLA_SUPPORTED_FILE_STORES"):
            config.from_mapping(data, environ={})
        env = {"GORILLA_SUPPORTED_FILE_STORES": "vault://h.example/ml"}
        assert config.from_mapping(data, environ=env).teams["omega"].provider == "vault"

    @pytest.mark.parametrize(
        ("family", "deployment", "row"),
        [
            ("s3-compatible", "saas", "SaaS row: no S3-compatible stores"),
            ("other", "saas", "SaaS row"),
            ("other", "dedicated", "dedicated row"),
            ("azure", "saas", "SaaS row: Azure storage is fully managed"),
        ],
    )
    def test_the_matrix_applies_to_plugin_providers_by_family(
        self, site: Site, family: str, deployment: str, row: str
    ) -> None:
        site.add("vault", VAULT, family=family)
        data = {
            "deployment": deployment,
            "teams": {"omega": {"provider": "vault", "bucket": "ml", "subpath": "o"}},
        }
        env = {"GORILLA_SUPPORTED_FILE_STORES": "vault://vault.example:443/ml"}
        if deployment == "dedicated":
            data["instance"] = {"store": "s3://acme/wandb"}
        with pytest.raises(ConfigError) as caught:
            config.from_mapping(data, environ=env)
        assert "teams.omega" in str(caught.value) and row in str(caught.value)

    @pytest.mark.parametrize(
        ("family", "deployment"),
        [
            ("s3-compatible", "dedicated"),
            ("s3-compatible", "self-managed"),
            ("other", "self-managed"),
        ],
    )
    def test_the_matrix_allows_what_its_rows_allow(
        self, site: Site, tmp_path: Path, family: str, deployment: str
    ) -> None:
        site.add("vault", VAULT, family=family)
        data = {
            "deployment": deployment,
            "instance": {"store": "s3://acme/wandb"},
            "teams": {"omega": {"provider": "vault", "bucket": "ml", "subpath": "o"}},
        }
        env = {"GORILLA_SUPPORTED_FILE_STORES": "vault://vault.example:443/ml"}
        assert config.from_mapping(data, environ=env).teams["omega"].provider == "vault"

    def test_a_dedicated_instance_store_must_be_a_native_cloud(self, site: Site) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        data = {"deployment": "dedicated", "instance": {"provider": "vault", "bucket": "ml"}}
        with pytest.raises(ConfigError, match=r"instance.*dedicated row.*family s3-compatible"):
            config.from_mapping(data, environ={})

    def test_a_provider_no_plugin_provides_is_a_problem_naming_it(self, tmp_path: Path) -> None:
        data = {"teams": {"omega": {"provider": "nosuch", "bucket": "ml"}}}
        with pytest.raises(ConfigError, match="no installed plugin provides 'nosuch'"):
            config.from_mapping(data, environ={"BYOB_DATA_DIR": str(tmp_path)})

    def test_the_builtin_families_match_the_plugins_specs(self) -> None:
        host = PluginHost.load()
        for name, family in config.BUILTIN_FAMILIES.items():
            assert host.spec(name).family == family, name

    def test_a_spec_refuses_an_unknown_family(self) -> None:
        with pytest.raises(ValueError, match="family must be one of"):
            ProviderSpec(name="x", family="cloudy")


class TestMisspeltHook:
    def test_plugins_lists_it_failed_exits_0_and_names_it_on_stderr(
        self, site: Site, capsys: pytest.CaptureFixture[str]
    ) -> None:
        site.add("typo", TYPO)
        site.add("vault", VAULT, family="s3-compatible")
        code = main(["plugins"])
        captured = capsys.readouterr()
        assert code == 0
        line = next(x for x in captured.out.splitlines() if x.startswith("typo"))
        assert "FAILED" in line and "byob_provison" in line
        assert "plugin 'typo' FAILED" in captured.err and "byob_provison" in captured.err
        vault = next(x for x in captured.out.splitlines() if x.startswith("vault"))
        assert "vault:vault" in vault and "s3-compatible" in vault and "FAILED" not in vault

    def test_plugins_check_exits_1(self, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
        site.add("typo", TYPO)
        assert main(["plugins", "--check"]) == 1
        capsys.readouterr()
        assert main(["plugins", "--check", "--json"]) == 1
        data = json.loads(capsys.readouterr().out)
        typo = next(p for p in data if p["name"] == "typo")
        assert "byob_provison" in typo["error"]

    def test_plugins_check_exits_0_when_all_load(
        self, site: Site, capsys: pytest.CaptureFixture[str]
    ) -> None:
        site.add("vault", VAULT, family="s3-compatible")
        assert main(["plugins", "--check", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        vault = next(p for p in data if p["name"] == "vault")
        assert vault["schemes"] == ["vault"]
        assert vault["provider_details"] == [
            {"name": "vault", "schemes": ["vault"], "family": "s3-compatible"}
        ]

    def test_everything_else_works(self, site: Site, tmp_path: Path) -> None:
        site.add("typo", TYPO)
        byob = Byob(config.from_mapping({"data_dir": str(tmp_path)}, environ={}))
        byob.provision()
        assert byob.validate().ok
        import fsspec

        fs = fsspec.filesystem("byob", config_data={"data_dir": str(tmp_path / "fs")})
        fs.pipe_file("byob://omega/a.txt", b"x")
        assert fs.cat_file("byob://omega/a.txt") == b"x"


class TestFallbacks:
    @pytest.fixture
    def byob(self, site: Site, tmp_path: Path) -> Byob:
        site.add("disk", DISK)
        root = tmp_path / "disk"
        root.mkdir()
        cfg = config.from_mapping(
            {
                "data_dir": str(tmp_path / "state"),
                "instance": {"provider": "disk", "bucket": str(root), "subpath": "wandb"},
            },
            environ={},
        )
        return Byob(cfg, PluginHost.load())

    def test_validate_passes_with_only_providers_and_filesystem(self, byob: Byob) -> None:
        # No byob_provision: write the marker the way provision would, by the filesystem.
        report = byob.validate()
        probe = {f.check: f.status for f in report.findings if f.check.startswith("core.probe")}
        assert set(probe.values()) == {Status.PASS}, report.findings

    def test_listing_is_sorted_streamed_and_resumes(self, byob: Byob) -> None:
        store = byob.resolve().store
        fs = byob.filesystem(store)
        names = ["b/2", "a-c", "a/b", "a/a", "c", "a0"]
        for n in names:
            fs.pipe_file(store.fs_path(f"wandb/{n}"), n.encode())  # parents created by the core
        listed = byob.host.list(store, ListRequest(prefix="wandb/"))
        assert not isinstance(listed, list)  # a generator: it streams
        assert [e.key for e in listed] == sorted(f"wandb/{n}" for n in names)
        after = [
            e.key
            for e in byob.host.list(store, ListRequest(prefix="wandb/", start_after="wandb/a/b"))
        ]
        assert after == ["wandb/a0", "wandb/b/2", "wandb/c"]
        assert list(byob.host.list(store, ListRequest(kind=Kind.VERSIONS, prefix="wandb/"))) == []

    def test_deletes_exactly_the_named_keys(self, byob: Byob) -> None:
        store = byob.resolve().store
        fs = byob.filesystem(store)
        for n in ("x/1", "x/2", "x/3"):
            fs.pipe_file(store.fs_path(f"wandb/{n}"), b"1")
        entries = list(byob.host.list(store, ListRequest(prefix="wandb/x/")))
        doomed = [e for e in entries if e.key.endswith(("/1", "/3"))]
        result = byob.host.garbage_collect(store, DeleteBatch(kind=Kind.OBJECTS, entries=doomed))
        assert not result.errors and sorted(e.key for e in result.deleted) == [
            "wandb/x/1",
            "wandb/x/3",
        ]
        assert [e.key for e in byob.host.list(store, ListRequest(prefix="wandb/"))] == ["wandb/x/2"]

    def test_gc_runs_in_batches_and_keeps_live_and_young(self, byob: Byob, tmp_path: Path) -> None:
        from byob_core.gc import GcOptions

        store = byob.resolve().store
        fs = byob.filesystem(store)
        for n in ("live/1", "dead/1", "dead/2", "dead/3"):
            fs.pipe_file(store.fs_path(f"wandb/{n}"), b"123")
        report = byob.gc(
            ["live/1"], options=GcOptions(grace=dt.timedelta(0), journal=tmp_path / "j")
        )
        assert report.deleted == 3 and not report.errors
        assert [e.key for e in byob.host.list(store, ListRequest(prefix="wandb/"))] == [
            "wandb/live/1"
        ]
        fs.pipe_file(store.fs_path("wandb/dead/4"), b"young")
        young = byob.gc(
            ["live/1"], options=GcOptions(grace=dt.timedelta(hours=1), journal=tmp_path / "j")
        )
        assert young.deleted == 0

    def test_a_hierarchical_ls_names_full_paths(self, byob: Byob) -> None:
        store = byob.resolve().store
        fs = byob.filesystem(store)
        fs.pipe_file(store.fs_path("wandb/deep/er/k.bin"), b"1")
        assert fs.ls(store.fs_path("wandb/deep/er"), detail=False) == [
            store.fs_path("wandb/deep/er/k.bin")
        ]


def test_store_docstring_native_url_example_is_right() -> None:
    store = Store(provider="aws", bucket="acme-ml", subpath="wandb/", region="us-west-2")
    assert store.native_url("wandb/runs/a.bin") == "s3://acme-ml/wandb/runs/a.bin"
    import doctest

    from byob_core import stores

    assert doctest.testmod(stores).failed == 0


def test_the_memory_example_lists_lazily() -> None:
    import importlib.util
    import inspect

    root = Path(__file__).resolve().parents[2]
    path = root / "docs" / "examples" / "byob-memory" / "src" / "byob_memory" / "__init__.py"
    spec = importlib.util.spec_from_file_location("byob_memory_doc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert inspect.isgeneratorfunction(module.byob_list)
    assert "sorted(entries" not in path.read_text()  # no list of everything, sorted at the end


def test_an_s3_compatible_plugin_provider_gets_the_aws_principal(site: Site) -> None:
    site.add("vault", VAULT, family="s3-compatible")
    site.add("short", SHORT)
    principals = config.Principals(aws_principal="arn:aws:iam::1:role/x", gcp_service_account="g")
    assert principals.for_provider("vault") == "arn:aws:iam::1:role/x"
    assert principals.for_provider("short") is None
    assert principals.for_provider("gcp") == "g"
