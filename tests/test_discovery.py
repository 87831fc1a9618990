"""Cross-package discovery: the installed workspace plugins are found through the `byob`
entry-point group, own exactly the providers of docs/concepts.md#stores, cover every connection-string
scheme, load without a cloud SDK, and `byob://` is registered with fsspec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from byob_core import uris
from byob_core.errors import ProviderNotFoundError
from byob_core.plugins import PluginHost
from byob_core.stores import PROVIDERS

ROOT = Path(__file__).resolve().parents[1]
CLOUD_SDKS = {"s3fs", "gcsfs", "adlfs", "boto3", "botocore", "aiobotocore", "azure", "google"}
# Which plugin owns which provider (the built-in file provider is the core's own).
OWNERS = {
    "aws": "aws",
    "gcp": "gcp",
    "azure": "azure",
    "minio": "minio",
    "coreweave": "minio",
    "file": "file",
}
EXAMPLES = [
    "s3://AKIAEXAMPLE:c2VjcmV0S2V5@minio.local:9000/ml/wandb?region=us-east-1?tls=true",
    "s3://AKIAEXAMPLE:c2VjcmV0S2V5@s3.eu-west-1.amazonaws.com/acme/wandb",
    "s3://acme/wandb",
    "az://:a2V5a2V5a2V5@acct/container/p",
    "gs://sa@proj.iam.gserviceaccount.com:a2V5a2V5a2V5@bucket/p",
    "cw://CWAK:c2VjcmV0S2V5@cwobject.com/bucket?tls=true",
    "file:///tmp/byob-discovery",
]


def workspace_plugins() -> dict[str, tuple[str, str]]:
    """Entry-point name -> (distribution, module) from each plugins/*/pyproject.toml."""
    found = {}
    for pyproject in sorted(ROOT.glob("plugins/*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text())
        for name, value in data["project"].get("entry-points", {}).get("byob", {}).items():
            found[name] = (data["project"]["name"], value)
    return found


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost.load(disabled=())


class TestEntryPoints:
    def test_the_workspace_declares_the_four_provider_plugins(self) -> None:
        assert set(workspace_plugins()) >= {"aws", "gcp", "azure", "minio"}

    @pytest.mark.parametrize("name", sorted(workspace_plugins()))
    def test_each_declared_plugin_is_installed_under_the_byob_group(self, name: str) -> None:
        dist, module = workspace_plugins()[name]
        installed = {ep.name: ep for ep in metadata.entry_points(group="byob")}
        assert name in installed, f"{dist} is not installed (pip install -e plugins/{dist})"
        assert installed[name].value == module
        assert installed[name].dist is not None and installed[name].dist.name == dist

    def test_every_plugin_loads_without_error(self, host: PluginHost) -> None:
        failed = {i.name: i.error for i in host.infos() if i.error}
        assert not failed


class TestProviders:
    def test_each_provider_of_spec_1_has_its_owner(self, host: PluginHost) -> None:
        for provider in PROVIDERS:
            assert host.owner(provider) == OWNERS[provider], provider

    def test_the_cloud_plugins_implement_the_four_verbs(self, host: PluginHost) -> None:
        infos = {i.name: i for i in host.infos()}
        for name in ("aws", "gcp", "azure", "minio"):
            assert set(infos[name].hooks) >= {
                "byob_providers",
                "byob_provision",
                "byob_validate",
                "byob_sign",
                "byob_garbage_collect",
            }, name

    def test_every_connection_string_scheme_has_a_provider(self, host: PluginHost) -> None:
        declared = {scheme for spec in host.providers().values() for scheme in spec.schemes}
        assert set(uris.SCHEMES) <= declared

    @pytest.mark.parametrize("uri", EXAMPLES)
    def test_every_documented_form_routes_to_a_loaded_plugin(
        self, host: PluginHost, uri: str
    ) -> None:
        store = uris.parse(uri, environ={})
        assert host.owner(store.provider) == OWNERS[store.provider]
        assert host.spec(store.provider).name == store.provider

    def test_only_the_file_provider_cannot_sign(self, host: PluginHost) -> None:
        # Among the workspace's providers (outside plugins such as tests/outside/byob-ftp may
        # be installed too).
        cannot = {n for n, spec in host.providers().items() if not spec.can_sign and n in OWNERS}
        assert cannot == {"file"}

    def test_disabling_a_plugin_leaves_the_others(self) -> None:
        host = PluginHost.load(disabled=["aws"])
        with pytest.raises(ProviderNotFoundError, match="disabled: aws"):
            host.owner("aws")
        assert host.owner("minio") == "minio" and host.owner("gcp") == "gcp"


def fresh(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BYOB_", "GORILLA_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


class TestInFreshProcesses:
    @pytest.mark.parametrize("name", sorted(workspace_plugins()))
    def test_a_plugin_module_imports_no_cloud_sdk(self, name: str) -> None:
        _, module = workspace_plugins()[name]
        result = fresh(
            f"import sys, json, {module}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
        )
        assert result.returncode == 0, result.stderr
        modules = set(json.loads(result.stdout))
        assert not modules & CLOUD_SDKS, sorted(modules & CLOUD_SDKS)

    def test_plugins_json_reports_the_distribution_versions(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BYOB_", "GORILLA_"))}
        result = subprocess.run(
            [sys.executable, "-m", "byob_core", "plugins", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        reported = {p["name"]: p for p in json.loads(result.stdout)}
        for name, (dist, _) in workspace_plugins().items():
            assert reported[name]["version"] == metadata.version(dist)
            assert reported[name]["error"] is None
            assert reported[name]["providers"] == sorted(
                p for p, owner in OWNERS.items() if owner == name
            )
        assert reported["file"]["version"] == metadata.version("byob-core")

    def test_fsspec_finds_the_byob_protocol_through_its_entry_point(self) -> None:
        result = fresh(
            "import fsspec\ncls = fsspec.get_filesystem_class('byob')\nprint(cls.__module__, cls.__name__)"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["byob_core.fs", "ByobFileSystem"]
