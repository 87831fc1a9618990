"""``python -m byob_core demo``: the whole lifecycle on a throw-away embedded store.

An instance store and a team store (Omega with its own store; Kappa on the instance
store, as in the product's example), provisioned and validated, written to by each team,
the visibility rule shown, then a garbage collection as a dry run and for real.

The stores live on a throw-away endpoint a plugin offers through the
``byob_demo_endpoint`` hook (byob-minio's: a moto server on 127.0.0.1, reached as
S3-compatible ``minio`` stores, when moto is installed), and in a local directory
otherwise. Everything is removed at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs


@attrs.frozen
class _Setting:
    kind: str
    data: dict[str, Any]
    environ: Mapping[str, str]


@contextlib.contextmanager
def _stores(root: Path) -> Iterator[_Setting]:
    """The demo's stores: on a local S3 endpoint when it can be started, else on disk."""
    base: dict[str, Any] = {"data_dir": str(root / "state")}
    try:
        # A plugin may offer a throw-away endpoint (byob-minio: a local moto server);
        # the core imports no plugin itself.
        from byob_core.plugins import PluginHost

        server = PluginHost.load().pm.hook.byob_demo_endpoint()
        if server is None:
            raise LookupError("no plugin offers a demo endpoint")
        s3 = server.__enter__()
    except Exception:  # no plugin offers one, or its server would not start
        yield _Setting(
            "a local directory",
            {
                **base,
                "instance": {
                    "provider": "file",
                    "bucket": str(root / "instance-bucket"),
                    "subpath": "wandb",
                },
                "teams": {
                    "omega": {
                        "provider": "file",
                        "bucket": str(root / "omega-bucket"),
                        "subpath": "omega",
                    }
                },
            },
            os.environ,
        )
        return
    try:
        # An S3-compatible team store must be on the instance's allow-list (docs/configuration.md#deployments).
        allow = s3.connection_string("byob-demo-omega", subpath="omega")
        yield _Setting(
            f"a local S3 endpoint ({s3.endpoint_url})",
            {
                **base,
                "instance": s3.store_config("byob-demo-instance", subpath="wandb"),
                "teams": {"omega": s3.store_config("byob-demo-omega", subpath="omega")},
            },
            {**os.environ, "GORILLA_SUPPORTED_FILE_STORES": allow},
        )
    finally:
        server.__exit__(None, None, None)


def run_demo(*, echo: Callable[[str], None], keep: bool = False, as_json: bool = False) -> int:
    """Run the demo, printing through `echo` (or one JSON summary with `as_json`)."""
    root = Path(tempfile.mkdtemp(prefix="byob-demo-"))
    say = (lambda _t: None) if as_json else echo
    try:
        with _stores(root) as setting:
            summary = _lifecycle(setting, root, say)
        if summary is None:
            return 1
        say(
            f"\nsummary: 2 stores provisioned and validated, 4 objects written, "
            f"{summary['gc']['run']['deleted']} collected; "
            + (f"kept {root}" if keep else f"cleaned up {root}")
        )
        if as_json:
            echo(json.dumps(summary, indent=2, default=str))
        return 0
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _lifecycle(setting: _Setting, root: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Provision, validate, write, show visibility, collect; the summary, or None on failure."""
    from byob_core import config as config_mod
    from byob_core.api import Byob
    from byob_core.gc import GcOptions
    from byob_core.objects import ListRequest

    byob = Byob(config_mod.from_mapping(setting.data, environ=setting.environ))
    summary: dict[str, Any] = {"root": str(root), "stores_on": setting.kind, "validation": {}}
    say(f"byob demo on {setting.kind}; local state in {root}\n")

    say("1. provision: the instance store and team omega's own store")
    for team in (None, "omega"):
        plan = byob.provision(team)
        made = [c.name for c in plan.changes if c.applied]
        say(f"   {byob.resolve(team).store.display}: applied {', '.join(made) or 'nothing'}")

    say("2. validate each store")
    for team in (None, "omega"):
        report = byob.validate(team)
        counts: dict[str, int] = {}
        for finding in report.findings:
            counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
        summary["validation"][team or "instance"] = {"ok": report.ok, **counts}
        say(f"   {team or 'instance'}: {'OK' if report.ok else 'FAILED'} {counts}")
        if not report.ok:
            for finding in report.findings:
                if finding.status.value == "fail":
                    say(f"   FAIL {finding.check}: {finding.message}")
            return None

    say("3. writes: kappa (no team store: the instance store) and omega (its own store)")
    for team, names in (
        ("kappa", ["runs/k1/model.bin", "runs/k1/old.bin"]),
        ("omega", ["runs/o1/model.bin", "runs/o1/tmp.bin"]),
    ):
        for name in names:
            where, full = byob.locate(team, name)
            byob.filesystem(where.store).pipe_file(
                where.store.fs_path(full), f"{team}:{name}".encode()
            )
            say(f"   {team:5} -> {where.scope:8} store  {where.store.native_url(full)}")

    say("4. the visibility rule")
    summary["visibility"] = {}
    for reader, writer in (("omega", "kappa"), ("kappa", "omega"), ("omega", "omega")):
        allowed = byob.config.can_read(reader, writer)
        summary["visibility"][f"{reader} reads {writer}"] = allowed
        say(f"   can {reader} read {writer}'s files? {'yes' if allowed else 'no'}")

    say("5. garbage collection on omega's store: only model.bin is live")
    live = ["runs/o1/model.bin"]
    journal = root / "state" / "gc-journal.json"
    dry = byob.gc(
        live, team="omega", options=GcOptions(grace=dt.timedelta(0), dry_run=True, journal=journal)
    )
    say(f"   dry run would delete: {', '.join(dry.would_delete) or 'nothing'}")
    real = byob.gc(live, team="omega", options=GcOptions(grace=dt.timedelta(0), journal=journal))
    say(
        f"   deleted {real.deleted} object(s), {real.bytes_freed} bytes; kept {real.kept_live} live"
    )
    omega = byob.resolve("omega").store
    remaining = sorted(
        rel
        for entry in byob.host.list(omega, ListRequest(prefix=omega.prefix))
        if not (rel := entry.key.removeprefix(omega.prefix)).startswith(".byob/")
    )
    summary["gc"] = {"dry_run": dry.to_dict(), "run": real.to_dict(), "remaining": remaining}
    say(f"   omega's store now holds: {', '.join(remaining)}")
    return summary
