"""The command line, ``python -m byob_core``. Thin: every verb is a `Byob` method.

Exit codes: 0 success, 1 a check failed, 2 bad input or configuration (a one-line message
naming the problem, no traceback). ``--help``, ``parse`` and ``resolve`` load no plugin
and import no cloud SDK.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from byob_core import secrets
from byob_core.errors import ByobError, GcBusyError, GcError, ProvisionError, StoreAccessError

if TYPE_CHECKING:
    from byob_core.api import Byob

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input detected by the CLI itself (exit 2)."""


# -- output ---------------------------------------------------------------------------------
def out(text: str = "") -> None:
    """Print to stdout with every known secret redacted."""
    sys.stdout.write(secrets.redact(text) + "\n")


def out_json(data: Any) -> None:
    out(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def out_signed(signed: Sequence[Any], as_json: bool) -> None:
    """Signed requests, each URL exactly as signed; everything else redacted as usual.

    A signed URL is the product: it must carry the access key id and, for temporary
    credentials, the session token, so it is never passed through `secrets.redact`.
    """
    if as_json:
        rows = []
        for s in signed:
            row = s.to_dict()
            rest = json.loads(secrets.redact(json.dumps(row, default=str, ensure_ascii=False)))
            rows.append({k: row["url"] if k == "url" else rest[k] for k in row})
        sys.stdout.write(json.dumps(rows, indent=2, default=str, ensure_ascii=False) + "\n")
        return
    for s in signed:
        sys.stdout.write(f"{s.method} {s.url}\n")
        for line in s.header_lines():
            out(f"  header {line}")


def out_fields(data: dict[str, Any], as_json: bool) -> None:
    """A flat mapping as JSON, or as aligned ``name value`` lines."""
    if as_json:
        out_json(data)
        return
    width = max(map(len, data)) + 1
    for name, value in data.items():
        out(f"{name:{width}} {'' if value is None else value}")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [line.format(*headers), line.format(*("-" * w for w in widths))]
    lines += [line.format(*(str(c) for c in row)) for row in rows]
    return "\n".join(x.rstrip() for x in lines)


# -- parser ---------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """An argument parser that never guesses: no prefix matching of long options (``--all``
    is not ``--allow-empty-live``), and errors redacted before they are printed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {secrets.redact_connection_strings(message)}\n")
        if _json_errors:
            _fail_json(message, f"see `{self.prog} --help`", EXIT_USAGE)
        raise SystemExit(EXIT_USAGE)


#: Set by `main` when argv asks for ``--json``: failures then print one JSON object on stdout.
_json_errors = False


def _wants_json(argv: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options (read before parsing, so parse errors count)."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def _fail_json(error: str, hint: str, code: int) -> None:
    """The one JSON object a script reads on failure: ``{"error", "hint", "exit"}``."""
    sys.stdout.write(
        secrets.redact(
            json.dumps(
                {
                    "error": secrets.redact_connection_strings(error),
                    "hint": secrets.redact_connection_strings(hint),
                    "exit": code,
                },
                ensure_ascii=False,
            )
        )
        + "\n"
    )


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH", help="configuration file (default: $BYOB_CONFIG)"
    )
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    common.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="seconds to connect and to read each answer, for every store "
        "(default: the store's options.timeout, else 10)",
    )
    scoped = Parser(add_help=False)
    scoped.add_argument(
        "--team", metavar="TEAM", help="the team whose store is meant (default: the instance store)"
    )

    parser = Parser(
        prog="python -m byob_core",
        description="byob: bring your own bucket. Provision, validate, sign and garbage-collect "
        "customer-owned storage through plugins.",
        epilog="Exit codes: 0 success, 1 a check failed, 2 bad input or configuration.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser(
        "plugins",
        parents=[common],
        help="list plugins, their providers (schemes, family) and hooks",
        description="List every plugin: loaded, FAILED (with the reason) or disabled. Exits 0 "
        "even when a plugin failed; with --check, exits 1 when any did (for plugin CI).",
    )
    p.add_argument("--check", action="store_true", help="exit 1 when any plugin failed to load")
    p.set_defaults(run=cmd_plugins)

    p = sub.add_parser(
        "parse", parents=[common], help="parse a connection string (secrets never shown)"
    )
    p.add_argument("uri", metavar="URI")
    p.set_defaults(run=cmd_parse)

    p = sub.add_parser(
        "resolve", parents=[common, scoped], help="which store and full key serve a key"
    )
    p.add_argument("key", metavar="KEY")
    p.set_defaults(run=cmd_resolve)

    p = sub.add_parser(
        "validate", parents=[common, scoped], help="check a store, each check a finding"
    )
    p.add_argument("--read-only", action="store_true", help="skip every check that writes")
    p.add_argument(
        "--all",
        action="store_true",
        help="every configured store, one summary table (exit 1 if any fails)",
    )
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("sign", parents=[common, scoped], help="pre-sign requests for keys")
    p.add_argument("keys", nargs="+", metavar="KEY")
    p.add_argument(
        "--method", default="GET", type=str.upper, choices=["GET", "PUT", "HEAD", "DELETE"]
    )
    p.add_argument(
        "--expires",
        type=int,
        metavar="SECONDS",
        help="lifetime (default: 3600 for reads, 86400 for PUT)",
    )
    p.add_argument("--user", metavar="NAME", help="the requesting user's name, carried in the URL")
    p.add_argument(
        "--reader",
        metavar="TEAM",
        help="the team the URLs are for: refused unless the visibility rule lets it read",
    )
    p.add_argument("--at", metavar="ISO-8601", help="signing time, for reproducible output")
    p.add_argument("--content-type", metavar="TYPE", help="Content-Type the upload must send")
    p.set_defaults(run=cmd_sign)

    p = sub.add_parser("plan", parents=[common, scoped], help="show what provision would change")
    p.set_defaults(run=cmd_plan)
    p = sub.add_parser("provision", parents=[common, scoped], help="apply the provisioning plan")
    p.set_defaults(run=cmd_provision)

    p = sub.add_parser("gc", parents=[common, scoped], help="delete objects no live key names")
    p.add_argument(
        "--live",
        required=True,
        metavar="FILE",
        help="live keys relative to the store's sub-path: one per line (each line ending "
        "with a newline), or a JSON list; '-' reads standard input",
    )
    p.add_argument(
        "--grace",
        default="24h",
        metavar="DURATION",
        help="keep objects younger than this (30m, 24h, 7d)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted; delete nothing"
    )
    p.add_argument(
        "--purge-versions",
        action="store_true",
        help="also purge the history (versions, delete markers) of keys deleted longer than the grace ago",
    )
    p.add_argument(
        "--abort-uploads",
        action="store_true",
        help="also abort multipart uploads older than the grace",
    )
    p.add_argument(
        "--allow-empty-live",
        action="store_true",
        help="accept an empty live set (deletes every old object)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run even when most live keys name no object (normally a wrong live-key form)",
    )
    p.add_argument(
        "--journal",
        metavar="FILE",
        help="journal file for resuming (default: one per store under the data dir)",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="run the shards on a local Dask cluster of N processes (byob-core[dask])",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the shards on an existing Dask cluster (tcp://host:8786)",
    )
    p.add_argument(
        "--shards",
        type=_shard_count,
        metavar="N|auto",
        help="cut the key space into N shards (auto: 4 per Dask worker; 1 locally)",
    )
    p.add_argument(
        "--inventory",
        metavar="MANIFEST",
        help="read current objects from an S3/GCS/Azure inventory manifest instead of "
        "listing (byob-core[inventory]); candidates are re-read before deletion",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "bar", "json", "none"),
        default="auto",
        help="progress on stderr: a bar (auto: on a terminal), JSON lines, or none",
    )
    p.set_defaults(run=cmd_gc)

    p = sub.add_parser(
        "upload-plan", parents=[common, scoped], help="how an object of SIZE is uploaded"
    )
    p.add_argument(
        "size",
        metavar="SIZE",
        help="bytes (1048576) or a number with a unit (500MiB, 3GiB, 2GB); "
        "from 2 GiB on the upload goes in parts",
    )
    p.set_defaults(run=cmd_upload_plan)

    team = sub.add_parser(
        "team", help="teams: create, list, show, and rotate a team store's credentials"
    )
    team_sub = team.add_subparsers(dest="team_command", metavar="COMMAND", parser_class=Parser)
    p = team_sub.add_parser("create", parents=[common], help="create a team with its own store")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--store", metavar="URI", help="the store as a connection string")
    p.add_argument("--provider", help="aws, gcp, azure, minio, coreweave, file")
    p.add_argument("--bucket", help="a new bucket, or an existing one other teams may use")
    p.add_argument("--account", help="Azure storage account")
    p.add_argument("--container", help="Azure container")
    p.add_argument("--subpath", help="folder inside the bucket for this team's objects")
    p.add_argument("--region")
    p.add_argument("--endpoint", help="S3-compatible endpoint URL")
    p.add_argument("--kms-key-arn")
    p.add_argument("--tenant-id")
    p.add_argument("--client-id")
    p.add_argument("--no-provision", action="store_true", help="only check and record the team")
    p.set_defaults(run=cmd_team_create)

    from byob_core import admin

    admin.add_team_parsers(team_sub, common)
    admin.add_path_parsers(sub, common)

    p = sub.add_parser(
        "demo", parents=[common], help="the whole lifecycle on a throw-away embedded store"
    )
    p.add_argument("--keep", action="store_true", help="keep the demo's files")
    p.set_defaults(run=cmd_demo)
    return parser


# -- commands -------------------------------------------------------------------------------
def _byob(args: argparse.Namespace) -> Byob:
    from byob_core.api import Byob

    return Byob.from_env(args.config)


def _config(args: argparse.Namespace) -> Any:
    from byob_core import config

    return config.load(args.config)


def cmd_plugins(args: argparse.Namespace) -> int:
    from byob_core.plugins import PluginHost

    infos = PluginHost.load().infos()
    failed = [i for i in infos if i.error]
    for info in failed:
        _fail(f"plugin {info.name!r} FAILED: {info.error}")
    status = EXIT_FAILED if failed and args.check else EXIT_OK
    if args.json:
        out_json([i.to_dict() for i in infos])
        return status
    rows = [
        (
            i.name,
            i.version or "-",
            ",".join(i.providers) or "-",
            ",".join(f"{p}:{'+'.join(i.schemes.get(p, ())) or '-'}" for p in i.providers) or "-",
            ",".join(i.families.get(p, "?") for p in i.providers) or "-",
            "disabled"
            if i.disabled
            else (
                f"FAILED: {i.error}"
                if i.error
                else ",".join(h.removeprefix("byob_") for h in i.hooks)
            ),
        )
        for i in infos
    ]
    out(table(rows, ("plugin", "version", "providers", "schemes", "family", "hooks")))
    return status


def cmd_parse(args: argparse.Namespace) -> int:
    from byob_core import uris

    store = uris.parse(args.uri)
    data = store.to_dict()
    out_fields(data, args.json)
    return EXIT_OK


def cmd_resolve(args: argparse.Namespace) -> int:
    from byob_core import keys
    from byob_core.records import TeamRecords

    config = _config(args)
    where = config.resolve(args.team)
    TeamRecords(config.data_dir).check(where)
    full = keys.join(where.store.subpath, args.key)
    data = {
        "team": where.team,
        "scope": where.scope,
        "provider": where.store.provider,
        "bucket": where.store.bucket,
        "subpath": where.store.subpath,
        "key": full,
        "url": where.store.native_url(full),
    }
    out_fields(data, args.json)
    return EXIT_OK


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        out_json(report.to_dict())
        return
    out(
        f"store: {report.store.display}"
        + (f"  (team {report.team})" if report.team else "  (instance)")
    )
    rows = [(f.status.value.upper(), f.check, f.message) for f in report.findings]
    out(table(rows, ("status", "check", "message")))
    hints = [f for f in report.findings if f.hint and f.status.value in ("fail", "warn")]
    if hints:
        out("\nhow to fix:")
        for f in hints:
            out(f"  {f.check}: {f.hint}")
    out("\nresult: " + ("OK" if report.ok else "FAILED"))


def cmd_validate(args: argparse.Namespace) -> int:
    if args.all:
        if args.team:
            raise UsageError("give --all or --team, not both")
        from byob_core import admin

        return admin.validate_all(args)
    report = _byob(args).validate(args.team, read_only=args.read_only)
    _print_report(report, args.json)
    return EXIT_OK if report.ok else EXIT_FAILED


def _parse_at(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at {text!r} is not an ISO-8601 time such as 2026-01-31T12:00:00Z"
        ) from None
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        value.astimezone(dt.UTC) + dt.timedelta(days=400)  # room for any URL lifetime
    except OverflowError:
        raise UsageError(
            f"--at {text!r} is too close to the end of the calendar for a signed URL"
        ) from None
    return value


def cmd_sign(args: argparse.Namespace) -> int:
    extra = {"content_type": args.content_type} if args.content_type else {}
    signed = _byob(args).sign(
        args.keys,
        team=args.team,
        method=args.method,
        expires=args.expires,
        user=args.user,
        at=_parse_at(args.at),
        reader=args.reader,
        **extra,
    )
    out_signed(signed, args.json)
    return EXIT_OK


def _print_plan(plan: Any, as_json: bool) -> None:
    if as_json:
        out_json(plan.to_dict())
        return
    out(f"store: {plan.store.display}" + (f"  (team {plan.team})" if plan.team else "  (instance)"))
    for change in plan.changes:
        mark = {"none": "=", "create": "+", "update": "~", "manual": "!"}[change.action.value]
        done = " (applied)" if change.applied else ""
        out(f"{mark} {change.name}: {change.summary}{done}")
        for name, document in change.documents.items():
            out(f"    {name}:")
            for line in json.dumps(document, indent=2, default=str).splitlines():
                out(f"      {line}")
        for step in change.steps:
            out(f"    $ {step}")
    pending = [c for c in plan.changes if c.action.value in ("create", "update") and not c.applied]
    manual = [c for c in plan.changes if c.action.value == "manual"]
    out(f"\n{len(pending)} to change, {len(manual)} manual step(s)")
    if plan.failed:
        out(f"stopped: step {plan.failed} failed; the steps after it did not run")


def cmd_plan(args: argparse.Namespace) -> int:
    return _run_plan(args, apply=False)


def cmd_provision(args: argparse.Namespace) -> int:
    return _run_plan(args, apply=True)


def _run_plan(args: argparse.Namespace, *, apply: bool) -> int:
    byob = _byob(args)
    try:
        plan = byob.provision(args.team) if apply else byob.plan(args.team)
    except ProvisionError as exc:
        # What was applied before the failure, and which step failed, still go out.
        _print_plan(exc.plan, args.json)
        _fail(f"error: {exc}")
        return EXIT_FAILED
    _print_plan(plan, args.json)
    return EXIT_OK


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _shard_count(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


class _Progress:
    """GC progress on stderr: a tqdm bar, one JSON object per line, or nothing.

    Each update carries keys listed, candidates (deleted or about to be), deleted, bytes
    freed, the rate in keys listed per second and, once shards finish, an ETA.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.started = time.monotonic()
        self.last = 0.0
        self.bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(unit=" keys", unit_scale=True, file=sys.stderr, dynamic_ncols=True)

    def _figures(self, report: Any) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        deleted = len(report.would_delete) if report.dry_run else report.deleted
        rate = report.listed / elapsed
        shards = report.per_shard or []
        done = sum(1 for s in shards if s.get("state") == "done")
        eta = None
        if shards and 0 < done < len(shards):
            eta = round(elapsed * (len(shards) - done) / done, 1)
        elif report.phase is None:
            eta = 0.0
        return {
            "phase": report.phase or "done",
            "listed": report.listed,
            "candidates": deleted + report.kept_changed + report.error_count,
            "deleted": deleted,
            "bytes": report.bytes_freed,
            "rate": round(rate, 1),
            "eta_seconds": eta,
            "shards_done": done,
            "shards": report.shards,
            "elapsed": round(elapsed, 3),
        }

    def __call__(self, report: Any) -> None:
        if self.mode == "none":
            return
        now = time.monotonic()
        final = report.phase is None
        if not final and now - self.last < 0.2:
            return
        self.last = now
        figures = self._figures(report)
        if self.mode == "json":
            sys.stderr.write(json.dumps(figures, separators=(",", ":")) + "\n")
            sys.stderr.flush()
        elif self.bar is not None:
            self.bar.n = report.listed
            verb = "would delete" if report.dry_run else "deleted"
            postfix = f"{verb} {figures['deleted']:,}, {figures['bytes']:,} B"
            if report.shards > 1:
                postfix += f", shards {figures['shards_done']}/{report.shards}"
            self.bar.set_description(figures["phase"], refresh=False)
            self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_gc(args: argparse.Namespace) -> int:
    from pathlib import Path

    from byob_core import gc

    try:
        grace = gc.parse_duration(args.grace)
    except ValueError as exc:
        raise UsageError(f"--grace: {exc}") from None
    from byob_core import gcscale, livesets

    live = gc.load_live_keys(args.live) if args.live == "-" else livesets.open_live(Path(args.live))
    execution = None
    if args.workers or args.scheduler or args.shards:
        execution = gcscale.Execution.from_args(
            workers=args.workers, scheduler=args.scheduler, shards=args.shards
        )
    byob = _byob(args)
    options = gc.GcOptions(
        grace=grace,
        dry_run=args.dry_run,
        purge_versions=args.purge_versions,
        abort_uploads=args.abort_uploads,
        journal=Path(args.journal) if args.journal else None,
        allow_empty_live=args.allow_empty_live,
        force=args.force,
    )
    mode = args.progress
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() and not args.json else "none"
    progress = _Progress(mode)
    try:
        report = byob.gc(
            live,
            team=args.team,
            options=options,
            on_progress=progress,
            execution=execution,
            inventory=args.inventory,
        )
    finally:
        progress.close()
    if args.json:
        out_json(report.to_dict())
    else:
        if args.dry_run:
            for key in report.would_delete:
                out(f"would delete {key}")
        data = report.to_dict()
        for name in (
            "listed",
            "kept_live",
            "kept_young",
            "kept_reserved",
            "kept_changed",
            "deleted",
            "bytes_freed",
            "versions_deleted",
            "uploads_aborted",
            "error_count",
        ):
            label = (
                name.replace("deleted", "would_delete")
                .replace("aborted", "would_abort")
                .replace("bytes_freed", "bytes_to_free")
                if args.dry_run
                else name
            )
            out(f"{label:22} {data[name]}")
        if report.shards > 1 or report.executor != "local":
            out(f"{'executor':22} {report.executor}")
            out(f"{'shards':22} {report.shards}")
        for key, message in report.errors:
            out(f"error {key}: {message}")
        if report.gave_up:
            _print_gave_up(report)
    return EXIT_FAILED if report.errors or report.gave_up else EXIT_OK


def _print_gave_up(report: Any) -> None:
    for key in report.not_deleted:
        out(f"not deleted {key}")
    where = f"after {report.resume_after}" if report.resume_after else "from the start"
    out(
        f"gave up: {report.gave_up}\n"
        f"deleted {report.deleted} object(s) before giving up; not deleted: the "
        f"{len(report.not_deleted)} listed above and everything not yet examined. "
        f"Run the same command again to finish: it resumes {where} (the journal)."
    )


def cmd_upload_plan(args: argparse.Namespace) -> int:
    plan = _byob(args).upload_plan(args.size, team=args.team)
    data = {
        "size": plan.size,
        "multipart": plan.multipart,
        "part_size": plan.part_size,
        "parts": len(plan.parts),
    }
    out_fields(data, args.json)
    return EXIT_OK


def cmd_team_create(args: argparse.Namespace) -> int:
    from byob_core.teams import create_team

    fields = {
        name: getattr(args, name)
        for name in (
            "provider",
            "bucket",
            "account",
            "container",
            "subpath",
            "region",
            "endpoint",
            "kms_key_arn",
            "tenant_id",
            "client_id",
        )
        if getattr(args, name) is not None
    }
    result = create_team(
        args.name,
        store_uri=args.store,
        fields=fields,
        config_path=args.config,
        provision=not args.no_provision,
        echo=None if args.json else out,
    )
    if args.json:
        out_json(result.to_dict())
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    from byob_core.demo import run_demo

    return run_demo(echo=out, keep=args.keep, as_json=args.json)


# -- entry point ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    global _json_errors
    argv = list(sys.argv[1:] if argv is None else argv)
    _json_errors = _wants_json(argv)
    try:
        return _main(argv)
    finally:
        _json_errors = False


def _main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from byob_core import __version__

        out(f"byob-core {__version__}")
        return EXIT_OK
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        if _json_errors:
            _fail_json("no command given", f"see `{parser.prog} --help`", EXIT_USAGE)
        else:
            parser.print_help()
        return EXIT_USAGE
    from byob_core import logs

    logs.configure()
    try:
        if getattr(args, "timeout", None) is not None:
            from byob_core import retries

            retries.override(timeout=args.timeout)
        with _terminate_as_interrupt():
            return run(args)
    except (UsageError, ByobError) as exc:
        # Bad input is 2; a store or a run that failed on its own is 1.
        failed = isinstance(exc, StoreAccessError) or (
            isinstance(exc, GcError) and not isinstance(exc, ValueError | GcBusyError)
        )
        code = EXIT_FAILED if failed else EXIT_USAGE
        _fail(f"error: {exc}")
        if _json_errors:
            _fail_json(Exception.__str__(exc), getattr(exc, "hint", "") or _default_hint(exc), code)
        return code
    except KeyboardInterrupt:
        _fail("interrupted")
        if _json_errors:
            _fail_json("interrupted", "", 130)
        return 130
    except Exception as exc:
        if os.environ.get("BYOB_DEBUG"):
            raise
        _fail(f"error: unexpected {type(exc).__name__}: {exc} (set BYOB_DEBUG=1 for a traceback)")
        if _json_errors:
            _fail_json(
                f"unexpected {type(exc).__name__}: {exc}",
                "set BYOB_DEBUG=1 for a traceback",
                EXIT_FAILED,
            )
        return EXIT_FAILED


def _default_hint(exc: BaseException) -> str:
    from byob_core.errors import ConfigError, UnsafeKeyError, UriError

    if isinstance(exc, UriError):
        return "see docs/connection-strings.md for the formats"
    if isinstance(exc, ConfigError):
        return "fix the setting named in the error (see docs/configuration.md)"
    if isinstance(exc, UnsafeKeyError):
        return "give a key relative to the store, such as runs/abc/file.bin"
    if isinstance(exc, UsageError):
        return "see `python -m byob_core COMMAND --help`"
    return ""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so locks are released and temporary files removed."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(message: str) -> None:
    sys.stderr.write(secrets.redact_connection_strings(message) + "\n")
