"""``python -m byob_core demo``: the whole lifecycle on a throw-away embedded store.

An instance store and two team stores (Omega with its own store; Kappa on the instance
store, as in the product's example), provisioned and validated, written to by each team,
the visibility rule shown, then a garbage collection as a dry run and for real. Everything
lives in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _demo_config(root: Path) -> dict[str, Any]:
    return {
        "data_dir": str(root / "state"),
        "instance": {"provider": "file", "bucket": str(root / "instance-bucket"), "subpath": "wandb"},
        "teams": {
            "omega": {"provider": "file", "bucket": str(root / "omega-bucket"), "subpath": "omega"},
        },
    }


def run_demo(*, echo: Callable[[str], None], keep: bool = False, as_json: bool = False) -> int:
    from byob_core import config as config_mod
    from byob_core.api import Byob
    from byob_core.gc import GcOptions

    root = Path(tempfile.mkdtemp(prefix="byob-demo-"))
    say = (lambda _t: None) if as_json else echo
    summary: dict[str, Any] = {"root": str(root)}
    try:
        config = config_mod.from_mapping(_demo_config(root))
        byob = Byob(config)
        say(f"byob demo in {root}\n")
        say("1. provision: the instance store and team omega's own store")
        for team in (None, "omega"):
            plan = byob.provision(team)
            made = [c.name for c in plan.changes if c.applied]
            say(f"   {byob.resolve(team).store.display}: applied {', '.join(made) or 'nothing'}")
        say("2. validate each store")
        summary["validation"] = {}
        for team in (None, "omega"):
            report = byob.validate(team)
            counts: dict[str, int] = {}
            for f in report.findings:
                counts[f.status.value] = counts.get(f.status.value, 0) + 1
            summary["validation"][team or "instance"] = {"ok": report.ok, **counts}
            say(f"   {team or 'instance'}: {'OK' if report.ok else 'FAILED'} {counts}")
            if not report.ok:
                return 1
        say("3. writes: kappa (no team store: the instance store) and omega (its own store)")
        written: dict[str, list[str]] = {"kappa": [], "omega": []}
        for team, names in (("kappa", ["runs/k1/model.bin", "runs/k1/old.bin"]),
                            ("omega", ["runs/o1/model.bin", "runs/o1/tmp.bin"])):
            for name in names:
                where, full = byob.locate(team, name)
                byob.filesystem(where.store).pipe_file(where.store.fs_path(full), f"{team}:{name}".encode())
                written[team].append(name)
                say(f"   {team:5} -> {where.scope:8} store  {where.store.native_url(full)}")
        say("4. the visibility rule")
        visibility = {}
        for reader, writer in (("omega", "kappa"), ("kappa", "omega"), ("omega", "omega")):
            allowed = byob.config.can_read(reader, writer)
            visibility[f"{reader} reads {writer}"] = allowed
            say(f"   can {reader} read {writer}'s files? {'yes' if allowed else 'no'}")
        summary["visibility"] = visibility
        say("5. garbage collection on omega's store: only model.bin is live")
        live = ["runs/o1/model.bin"]
        journal = root / "state" / "gc-journal"
        dry = byob.gc(live, team="omega", options=GcOptions(grace=dt.timedelta(0), dry_run=True, journal=journal))
        say(f"   dry run would delete: {', '.join(dry.would_delete) or 'nothing'}")
        real = byob.gc(live, team="omega", options=GcOptions(grace=dt.timedelta(0), journal=journal))
        say(f"   deleted {real.deleted} object(s), {real.bytes_freed} bytes; kept {real.kept_live} live")
        remaining = sorted(
            p.relative_to(root / "omega-bucket" / "omega").as_posix()
            for p in (root / "omega-bucket" / "omega").rglob("*")
            if p.is_file() and ".byob" not in p.parts
        )
        summary["gc"] = {"dry_run": dry.to_dict(), "run": real.to_dict(), "remaining": remaining}
        say(f"   omega's store now holds: {', '.join(remaining)}")
        say("\nsummary: 2 stores provisioned and validated, 4 objects written, "
            f"{real.deleted} collected; cleaning up {root}" if not keep else f"\nkept {root}")
        if as_json:
            echo(json.dumps(summary, indent=2, default=str))
        return 0
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
