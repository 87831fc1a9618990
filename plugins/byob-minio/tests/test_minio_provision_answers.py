"""provision on servers that answer unexpectedly: never a crash, always the plan.

Ceph RGW 16.2 answers ``GET ?encryption`` with a ``ListBucketResult``; an unexpected
answer becomes a MANUAL change. A step that fails still prints the plan: what was applied
before it, and which step failed. ``encryption = "none"`` does not read encryption at all.
Each test runs on moto and on RGW (`s3_endpoint`), through the CLI as a person runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from byob_core import uris
from byob_core.cli import main
from byob_core.plans import Action
from byob_core.provider import ProvisionContext, ValidateContext
from byob_minio.plugin import MINIO


def write_config(tmp_path: Path, store, monkeypatch: pytest.MonkeyPatch, **options) -> Path:
    """A byob.toml whose team ``t`` is `store`, allowed by GORILLA_SUPPORTED_FILE_STORES."""
    uri = uris.format(store)
    monkeypatch.setenv("GORILLA_SUPPORTED_FILE_STORES", uri)
    extra = "".join(f"{name} = {json.dumps(value)}\n" for name, value in options.items())
    path = tmp_path / "byob.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\n\n'
        f'[instance]\nprovider = "file"\nbucket = "{tmp_path / "instance"}"\n\n'
        f'[teams.t]\nstore = "{uri}"\n{extra}',
        encoding="utf-8",
    )
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_provision_prints_the_plan_whatever_encryption_answers(
    s3_endpoint, make_store, tmp_path, monkeypatch, capsys, request
):
    """On RGW this crashed with KeyError 'Rules', exit 1, no plan, bucket already made."""
    store = make_store(s3_endpoint, subpath="wandb")
    config = write_config(tmp_path, store, monkeypatch)
    code, out, err = cli(capsys, "provision", "--config", str(config), "--team", "t", "--json")
    assert code == 0, err
    plan = json.loads(out)
    changes = {c["name"]: c for c in plan["changes"]}
    assert plan["failed"] is None
    assert changes["bucket"]["applied"] and changes["versioning"]["applied"]
    encryption = changes["encryption"]
    if "rgw" in request.node.callspec.id:
        assert encryption["action"] == "manual"
        assert "not an encryption configuration" in encryption["summary"]
        assert encryption["steps"] and not any("mc " in s for s in encryption["steps"])
        assert "Ceph RGW" in " ".join(encryption["steps"])
    else:
        assert encryption["applied"]
    code, out, err = cli(capsys, "validate", "--config", str(config), "--team", "t", "--json")
    found = {f["check"]: f for f in json.loads(out)["findings"]}
    assert found["minio.encryption"]["status"] in ("pass", "warn"), found["minio.encryption"]


def test_encryption_none_does_not_read_encryption(minio_like, make_store):
    proxy = minio_like({})
    store = make_store(proxy.endpoint, subpath="wandb", options={"encryption": "none"})
    plan = MINIO.provision(store, ProvisionContext(apply=True))
    assert {c.name: c for c in plan.changes}["encryption"].action is Action.NONE
    findings = {f.check: f for f in MINIO.validate(store, ValidateContext())}
    assert findings["minio.encryption"].status.value == "skip"
    assert not [path for _, path, _ in proxy.seen if "encryption" in path]


def test_a_failing_step_still_prints_what_was_applied(
    minio_like, make_store, tmp_path, monkeypatch, capsys
):
    # A refusal no rule expects (not "not implemented", not "access denied"): the step fails.
    proxy = minio_like({("PUT", "lifecycle"): (409, "OperationAborted", "conflicting operation")})
    store = make_store(proxy.endpoint, subpath="wandb")
    config = write_config(tmp_path, store, monkeypatch)
    argv = ("provision", "--config", str(config), "--team", "t")
    code, out, err = cli(capsys, *argv, "--json")
    assert code == 1
    assert "step 'lifecycle' failed" in err and "OperationAborted" in err
    assert "Traceback" not in err
    plan = json.loads(out)
    assert plan["failed"] == "lifecycle"
    changes = {c["name"]: c for c in plan["changes"]}
    assert changes["bucket"]["applied"] and changes["versioning"]["applied"]
    assert changes["lifecycle"]["action"] == "manual"
    assert "OperationAborted" in changes["lifecycle"]["summary"]
    assert "access" not in changes  # the steps after the failure did not run
    assert "marker" not in changes  # nor was the store marked as provisioned
    code, out, err = cli(capsys, *argv)
    assert code == 1
    assert "+ bucket" not in out and "= bucket" in out  # made by the first run
    assert "stopped: step lifecycle failed" in out
