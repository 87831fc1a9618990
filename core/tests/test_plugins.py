"""Plugin discovery and routing: each entry point loads on its own, failures are reported by
name, BYOB_DISABLE_PLUGINS skips plugins, provider conflicts and misspelt hooks fail loudly,
verbs reach only the owner, policy plugins see every store."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from byob_core import plugins
from byob_core.errors import PluginError, ProviderNotFoundError, UnsupportedError
from byob_core.findings import Status
from byob_core.plugins import PluginHost
from byob_core.provider import ProvisionContext, ValidateContext
from byob_core.stores import Store

_serial = itertools.count()

# A fake provider plugin: owns `{provider}`, records each routed call in CALLS.
PROVIDER_PLUGIN = """
from byob_core import hookimpl
from byob_core.findings import Finding
from byob_core.plans import Plan
from byob_core.provider import ProviderSpec

CALLS = []

@hookimpl
def byob_providers():
    return [ProviderSpec(name="{provider}", schemes=("{provider}",))]

@hookimpl
def byob_provision(store, context):
    CALLS.append(("provision", store.provider))
    return Plan(store=store, changes=[], applied=context.apply)

@hookimpl
def byob_validate(store, context):
    CALLS.append(("validate", store.provider))
    return [Finding.passed("{provider}.ok", "fine")]

@hookimpl
def byob_sign(store, requests):
    CALLS.append(("sign", store.provider))
    return []
"""

POLICY_PLUGIN = """
from byob_core import hookimpl
from byob_core.findings import Finding

@hookimpl
def byob_validate(store, context):
    return [Finding.warned("policy.tagging", f"{store.provider} bucket {store.bucket} has no cost tag")]
"""

BROKEN_PLUGIN = """
import byob_core
raise ImportError("No module named 'some_cloud_sdk'")
"""

TYPO_PLUGIN = """
from byob_core import hookimpl

@hookimpl
def byob_sing(store, requests):
    return []
"""


class Site:
    """Throw-away plugin modules on sys.path, exposed as `byob` entry points."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.entry_points: list[metadata.EntryPoint] = []
        self.modules: dict[str, str] = {}
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.setattr(plugins.metadata, "entry_points", self._entry_points)

    def _entry_points(self, **params: str) -> list[metadata.EntryPoint]:
        assert params == {"group": "byob"}
        return list(self.entry_points)

    def add(self, name: str, source: str, **fmt: str) -> str:
        module = f"byob_fake_{name}_{next(_serial)}"  # unique: sys.modules caches by name
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
    monkeypatch.delenv("BYOB_DISABLE_PLUGINS", raising=False)
    return Site(tmp_path, monkeypatch)


def store(provider: str) -> Store:
    return Store(provider=provider, bucket="/tmp/byob-plugin-test" if provider == "file" else "b")


class TestIsolatedLoading:
    def test_a_plugin_that_fails_to_import_is_reported_by_name_and_the_rest_work(
        self, site: Site
    ) -> None:
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        site.add("broken", BROKEN_PLUGIN)
        site.add("gamma", PROVIDER_PLUGIN, provider="gamma")
        host = PluginHost.load()
        infos = {i.name: i for i in host.infos()}
        assert infos["broken"].error is not None
        assert "ImportError" in infos["broken"].error and "some_cloud_sdk" in infos["broken"].error
        assert not infos["broken"].providers
        assert infos["alpha"].error is None and infos["alpha"].providers == ["alpha"]
        assert set(host.providers()) == {"file", "alpha", "gamma"}
        host.provision(store("gamma"), ProvisionContext())
        assert ("provision", "gamma") in site.module("gamma").CALLS  # type: ignore[attr-defined]

    def test_an_unknown_provider_names_the_plugins_that_failed(self, site: Site) -> None:
        site.add("broken", BROKEN_PLUGIN)
        host = PluginHost.load()
        with pytest.raises(
            ProviderNotFoundError, match=r"no plugin provides 'alpha'.*failed to load: broken"
        ):
            host.spec("alpha")

    def test_a_missing_module_is_reported_too(self, site: Site) -> None:
        site.entry_points.append(
            metadata.EntryPoint(name="ghost", value="byob_no_such_module", group="byob")
        )
        infos = {i.name: i for i in PluginHost.load().infos()}
        assert "ModuleNotFoundError" in (infos["ghost"].error or "")

    def test_a_hook_with_an_unknown_argument_fails_that_plugin_only(self, site: Site) -> None:
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        site.add(
            "odd",
            "from byob_core import hookimpl\n@hookimpl\ndef byob_validate(store, colour):\n    return []\n",
        )
        host = PluginHost.load()
        infos = {i.name: i for i in host.infos()}
        assert infos["odd"].error and "colour" in infos["odd"].error
        assert "alpha" in host.providers()


class TestDisabling:
    def test_byob_disable_plugins_skips_the_named_plugins(
        self, site: Site, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        site.add("beta", PROVIDER_PLUGIN, provider="beta")
        site.add("gamma", PROVIDER_PLUGIN, provider="gamma")
        monkeypatch.setenv("BYOB_DISABLE_PLUGINS", " alpha, beta ,")
        host = PluginHost.load()
        infos = {i.name: i for i in host.infos()}
        assert infos["alpha"].disabled and infos["beta"].disabled
        assert not infos["gamma"].disabled
        assert set(host.providers()) == {"file", "gamma"}
        assert site.modules["alpha"] not in sys.modules  # never even imported
        with pytest.raises(ProviderNotFoundError, match="disabled: alpha, beta"):
            host.spec("alpha")

    def test_disabling_a_broken_plugin_silences_it(
        self, site: Site, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        site.add("broken", BROKEN_PLUGIN)
        monkeypatch.setenv("BYOB_DISABLE_PLUGINS", "broken")
        info = {i.name: i for i in PluginHost.load().infos()}["broken"]
        assert info.disabled and info.error is None

    def test_even_the_builtin_file_provider_can_be_disabled(self, site: Site) -> None:
        host = PluginHost.load(disabled=["file"])
        assert "file" not in host.providers()


class TestConflictsAndTypos:
    def test_two_plugins_claiming_one_provider_is_an_error_naming_both(self, site: Site) -> None:
        site.add("first", PROVIDER_PLUGIN, provider="shared")
        site.add("second", PROVIDER_PLUGIN, provider="shared")
        with pytest.raises(
            PluginError, match=r"'shared' is claimed by two plugins: 'first' and 'second'"
        ):
            PluginHost.load()

    def test_claiming_the_builtin_provider_conflicts_with_file(self, site: Site) -> None:
        site.add("myfile", PROVIDER_PLUGIN, provider="file")
        with pytest.raises(PluginError, match=r"'file' and 'myfile'"):
            PluginHost.load()

    def test_a_misspelt_hook_fails_that_plugin_alone(self, site: Site) -> None:
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        site.add("typo", TYPO_PLUGIN)
        host = PluginHost.load()
        infos = {i.name: i for i in host.infos()}
        assert "implements 'byob_sing', which is no byob hook" in (infos["typo"].error or "")
        assert "BYOB_DISABLE_PLUGINS=typo" in (infos["typo"].error or "")
        assert host.pm.get_plugin("typo") is None
        assert infos["alpha"].error is None
        host.provision(store("alpha"), ProvisionContext())
        assert ("provision", "alpha") in site.module("alpha").CALLS  # type: ignore[attr-defined]

    def test_a_broken_provider_declaration_is_reported_and_the_rest_still_work(
        self, site: Site
    ) -> None:
        site.add(
            "bad",
            "from byob_core import hookimpl\n@hookimpl\ndef byob_providers():\n    return ['not a spec']\n",
        )
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        host = PluginHost.load()
        infos = {i.name: i for i in host.infos()}
        assert "'not a spec'" in (infos["bad"].error or "")
        assert "not a ProviderSpec" in (infos["bad"].error or "")
        assert host.owner("alpha") == "alpha"
        assert host.pm.get_plugin("bad") is None


class TestRouting:
    @pytest.fixture
    def host(self, site: Site) -> PluginHost:
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        site.add("beta", PROVIDER_PLUGIN, provider="beta")
        return PluginHost.load()

    def calls(self, site: Site, name: str) -> list[tuple[str, str]]:
        return site.module(name).CALLS  # type: ignore[attr-defined, no-any-return]

    def test_a_verb_reaches_only_the_owner(self, site: Site, host: PluginHost) -> None:
        host.provision(store("alpha"), ProvisionContext())
        host.validate(store("alpha"), ValidateContext())
        host.sign(store("alpha"), [])
        assert self.calls(site, "alpha") == [
            ("provision", "alpha"),
            ("validate", "alpha"),
            ("sign", "alpha"),
        ]
        assert self.calls(site, "beta") == []

    def test_the_file_store_never_reaches_a_plugin(self, site: Site, host: PluginHost) -> None:
        host.provision(store("file"), ProvisionContext())
        assert self.calls(site, "alpha") == self.calls(site, "beta") == []
        assert host.owner("file") == "file"

    def test_a_hook_the_owner_lacks_is_unsupported(self, host: PluginHost) -> None:
        from byob_core.objects import DeleteBatch, Kind

        # garbage_collect falls back to the filesystem, which alpha does not provide either.
        with pytest.raises(
            UnsupportedError, match="'alpha' plugin does not implement byob_filesystem"
        ):
            host.garbage_collect(store("alpha"), DeleteBatch(kind=Kind.OBJECTS, entries=[]))
        with pytest.raises(
            UnsupportedError, match="'alpha' plugin does not implement byob_multipart"
        ):
            host.multipart(store("alpha"))
        assert not host.implements("byob_garbage_collect", "alpha")
        assert host.implements("byob_sign", "alpha")

    def test_signing_on_a_provider_that_cannot_sign_is_refused(self, host: PluginHost) -> None:
        with pytest.raises(UnsupportedError, match="'file' stores cannot sign"):
            host.sign(store("file"), [])

    def test_a_provider_nobody_owns(self, host: PluginHost) -> None:
        with pytest.raises(ProviderNotFoundError, match="byob-nimbus"):
            host.provision(store("nimbus"), ProvisionContext())


class TestPolicyPlugins:
    def test_a_plugin_without_providers_adds_findings_for_every_store(self, site: Site) -> None:
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        site.add("policy", POLICY_PLUGIN)
        host = PluginHost.load()
        assert {i.name: i for i in host.infos()}["policy"].providers == []
        for provider in ("alpha", "file"):
            findings = host.validate(store(provider), ValidateContext())
            policy = [f for f in findings if f.check == "policy.tagging"]
            assert len(policy) == 1
            assert policy[0].status is Status.WARN
            assert policy[0].provider == "policy"
        alpha = host.validate(store("alpha"), ValidateContext())
        assert [f.check for f in alpha] == ["alpha.ok", "policy.tagging"]


class TestInfos:
    def test_hooks_and_providers_are_listed(self, site: Site) -> None:
        site.add("alpha", PROVIDER_PLUGIN, provider="alpha")
        infos = {i.name: i.to_dict() for i in PluginHost.load().infos()}
        assert infos["alpha"]["hooks"] == [
            "byob_providers",
            "byob_provision",
            "byob_sign",
            "byob_validate",
        ]
        assert infos["file"]["providers"] == ["file"]
        assert infos["file"]["version"]
        assert set(infos["alpha"]) >= {"name", "version", "providers", "hooks", "error"}


# -- real discovery through installed metadata, in a subprocess --------------------------------
def make_distribution(
    site_dir: Path, dist: str, version: str, entry: str, module: str, source: str
) -> None:
    """Write a minimal installed distribution: a module and a dist-info with entry_points.txt."""
    (site_dir / f"{module}.py").write_text(textwrap.dedent(source))
    info = site_dir / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[byob]\n{entry} = {module}\n")


@pytest.fixture(scope="module")
def installed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., subprocess.CompletedProcess[str]]:
    site_dir = tmp_path_factory.mktemp("site")
    make_distribution(
        site_dir,
        "byob-alpha",
        "1.2.3",
        "alpha",
        "byob_alpha_plugin",
        PROVIDER_PLUGIN.format(provider="alpha"),
    )
    make_distribution(
        site_dir, "byob-broken", "0.0.1", "broken", "byob_broken_plugin", BROKEN_PLUGIN
    )
    make_distribution(site_dir, "byob-policy", "2.0", "policy", "byob_policy_plugin", POLICY_PLUGIN)

    def run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if k != "BYOB_DISABLE_PLUGINS"}
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(site_dir), environ.get("PYTHONPATH")])
        )
        environ.update(env)
        return subprocess.run(
            [sys.executable, "-m", "byob_core", *argv],
            capture_output=True,
            text=True,
            env=environ,
            timeout=120,
            check=False,
        )

    return run


class TestDiscoveryThroughEntryPoints:
    def test_plugins_json_lists_each_plugin_with_its_fields(
        self, installed: Callable[..., subprocess.CompletedProcess[str]]
    ) -> None:
        result = installed("plugins", "--json")
        assert result.returncode == 0, result.stderr
        found = {p["name"]: p for p in json.loads(result.stdout)}
        alpha = found["alpha"]
        assert alpha["version"] == "1.2.3"
        assert alpha["providers"] == ["alpha"]
        assert alpha["hooks"] == ["byob_providers", "byob_provision", "byob_sign", "byob_validate"]
        assert alpha["error"] is None
        assert found["broken"]["version"] == "0.0.1"
        assert "some_cloud_sdk" in found["broken"]["error"]
        assert found["policy"]["providers"] == [] and found["policy"]["hooks"] == ["byob_validate"]
        assert found["file"]["providers"] == ["file"]
        for entry in found.values():
            assert set(entry) >= {"name", "version", "providers", "hooks", "error"}

    def test_the_table_shows_the_failure_by_name(
        self, installed: Callable[..., subprocess.CompletedProcess[str]]
    ) -> None:
        result = installed("plugins")
        assert result.returncode == 0
        line = next(x for x in result.stdout.splitlines() if x.startswith("broken"))
        assert "FAILED" in line and "ImportError" in line

    def test_byob_disable_plugins_in_the_environment(
        self, installed: Callable[..., subprocess.CompletedProcess[str]]
    ) -> None:
        result = installed("plugins", "--json", BYOB_DISABLE_PLUGINS="alpha,broken")
        found = {p["name"]: p for p in json.loads(result.stdout)}
        assert found["alpha"]["disabled"] and found["broken"]["disabled"]
        assert found["broken"]["error"] is None
        assert found["alpha"]["providers"] == []
        assert not found["policy"]["disabled"]
