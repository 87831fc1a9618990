"""The operator's commands: teams (list, show, rotate), ``validate --all``, ``ls``/``cp``/``rm``
over ``byob://`` paths, and shell completion. Every path goes through the ``byob://``
filesystem, so the key guard of every other code path applies here too.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from byob_core.cli import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    _byob,
    out,
    out_fields,
    out_json,
    table,
)

if TYPE_CHECKING:
    from byob_core.api import Byob


# -- parsers ----------------------------------------------------------------------------------
def add_team_parsers(team_sub: Any, common: argparse.ArgumentParser) -> None:
    p = team_sub.add_parser("list", parents=[common], help="every team with its own store")
    p.set_defaults(run=cmd_team_list)

    p = team_sub.add_parser(
        "show", parents=[common], help="a team's store, its local record and its last validation"
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=cmd_team_show)

    p = team_sub.add_parser(
        "rotate",
        parents=[common],
        help="give a team store new credentials (validated first; not a migration)",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "--store",
        metavar="URI",
        help="the same store as a connection string carrying the new credentials",
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a credential field to set (repeatable), such as access_key=... or role_arn=...; "
        "FIELD=@FILE reads the value from a file, FIELD=- from stdin",
    )
    p.add_argument(
        "--unset", action="append", default=[], metavar="FIELD", help="a credential field to drop"
    )
    p.add_argument(
        "--read-only", action="store_true", help="validate the new credentials without writing"
    )
    p.set_defaults(run=cmd_team_rotate)


def add_path_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ls", parents=[common], help="list byob://TEAM/PREFIX")
    p.add_argument("path", metavar="PATH", nargs="?", default="byob://")
    p.add_argument("-l", "--long", action="store_true", help="show size, type and modified time")
    p.add_argument("-r", "--recursive", action="store_true", help="every object below PATH")
    p.set_defaults(run=cmd_ls)

    p = sub.add_parser(
        "cp", parents=[common], help="copy a file to or from a byob:// path (upload, download)"
    )
    p.add_argument("source", metavar="SRC")
    p.add_argument("target", metavar="DST")
    p.add_argument("-r", "--recursive", action="store_true", help="copy a directory tree")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(run=cmd_cp)

    p = sub.add_parser("rm", parents=[common], help="delete byob:// objects")
    p.add_argument("paths", metavar="PATH", nargs="+")
    p.add_argument("-r", "--recursive", action="store_true", help="delete everything below PATH")
    p.set_defaults(run=cmd_rm)

    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(run=cmd_completion)


# -- teams -------------------------------------------------------------------------------------
def _team_row(byob: Byob, name: str) -> dict[str, Any]:
    store = byob.config.teams[name]
    last = byob.last_validation(name)
    return {
        "team": name,
        "provider": store.provider,
        "store": store.display,
        "recorded": byob.registered_store(name) is not None,
        "last_validation": last,
    }


def cmd_team_list(args: argparse.Namespace) -> int:
    byob = _byob(args)
    rows = [_team_row(byob, name) for name in byob.teams()]
    if args.json:
        out_json(rows)
        return EXIT_OK
    if not rows:
        out("no team has its own store; every team uses the instance store")
        return EXIT_OK
    out(
        table(
            [
                (
                    r["team"],
                    r["provider"],
                    r["store"],
                    "yes" if r["recorded"] else "no",
                    _last(r["last_validation"]),
                )
                for r in rows
            ],
            ("team", "provider", "store", "recorded", "last validation"),
        )
    )
    return EXIT_OK


def _last(last: dict[str, Any] | None) -> str:
    if not last:
        return "never"
    return f"{'OK' if last.get('ok') else 'FAILED'} {last.get('at', '')}"


def cmd_team_show(args: argparse.Namespace) -> int:
    from byob_core.errors import UnknownTeamError

    byob = _byob(args)
    if args.name not in byob.config.teams:
        raise UnknownTeamError(
            f"team {args.name!r} has no store of its own in this configuration",
            hint="`team list` shows the teams with a store; others use the instance store",
        )
    store = byob.config.teams[args.name]
    data = {
        "team": args.name,
        "scope": "team",
        "store": store.to_dict(),
        "record": byob.registered_store(args.name),
        "last_validation": byob.last_validation(args.name),
    }
    if args.json:
        out_json(data)
        return EXIT_OK
    out_fields(
        {
            "team": args.name,
            "store": store.display,
            **{k: v for k, v in store.to_dict().items() if v not in (None, "", [], False)},
            "recorded": "yes (provisioned here)" if data["record"] else "no",
            "last validation": _last(data["last_validation"]),
        },
        False,
    )
    last = data["last_validation"]
    if last and last.get("failed"):
        out(f"failed checks: {', '.join(last['failed'])}")
    return EXIT_OK


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--set {name or text!r}: give FIELD=VALUE, FIELD=@FILE or FIELD=-")
    if value == "-":
        value = sys.stdin.readline().rstrip("\n")
    elif value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise UsageError(f"--set {name}: cannot read {value[1:]}: {exc.strerror}") from None
    return name.strip(), value


def cmd_team_rotate(args: argparse.Namespace) -> int:
    from byob_core.teams import rotate_credentials

    settings = dict(_setting(s) for s in args.settings)
    result = rotate_credentials(
        args.name,
        store_uri=args.store,
        settings=settings,
        unset=args.unset,
        config_path=args.config,
        read_only=args.read_only,
        echo=None if args.json else out,
    )
    if args.json:
        out_json(result.to_dict())
    return EXIT_OK if result.ok else EXIT_FAILED


# -- validate --all ----------------------------------------------------------------------------
def validate_all(args: argparse.Namespace) -> int:
    reports = _byob(args).validate_all(read_only=args.read_only)
    ok = all(r.ok for r in reports.values())
    if args.json:
        out_json({"ok": ok, "stores": {k: r.to_dict() for k, r in reports.items()}})
        return EXIT_OK if ok else EXIT_FAILED
    rows = []
    for key, report in reports.items():
        counts = {s: 0 for s in ("pass", "warn", "fail", "skip")}
        for finding in report.findings:
            counts[finding.status.value] += 1
        failed = [f.check for f in report.findings if f.status.value == "fail"]
        rows.append(
            (
                key,
                report.store.display,
                "OK" if report.ok else "FAILED",
                *(str(counts[s]) for s in ("pass", "warn", "fail", "skip")),
                ", ".join(failed) or "-",
            )
        )
    out(table(rows, ("store", "where", "result", "pass", "warn", "fail", "skip", "failed checks")))
    out(f"\n{sum(r.ok for r in reports.values())} of {len(reports)} stores OK")
    return EXIT_OK if ok else EXIT_FAILED


# -- ls / cp / rm --------------------------------------------------------------------------------
def _is_byob(path: str) -> bool:
    return path.startswith("byob://")


def _byob_path(path: str) -> str:
    if not _is_byob(path):
        raise UsageError(f"{path!r} is not a byob:// path; write byob://TEAM/KEY")
    return path


def cmd_ls(args: argparse.Namespace) -> int:
    fs = _byob(args).fs()
    path = _byob_path(args.path)
    try:
        if args.recursive:
            found = fs.find(path, detail=True)
            entries = list(found.values())
        else:
            entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        raise UsageError(f"no such byob path: {path}") from None
    except PermissionError as exc:
        raise UsageError(str(exc)) from None
    entries = sorted(entries, key=lambda e: e["name"])
    if args.json:
        out_json(
            [
                {
                    "name": f"byob://{e['name']}",
                    "type": e.get("type"),
                    "size": e.get("size"),
                    "modified": _modified(e),
                }
                for e in entries
            ]
        )
        return EXIT_OK
    for e in entries:
        name = f"byob://{e['name']}" + ("/" if e.get("type") == "directory" else "")
        if args.long:
            size = "-" if e.get("type") == "directory" else str(e.get("size") or 0)
            out(f"{size:>12}  {_modified(e) or '-':25}  {name}")
        else:
            out(name)
    return EXIT_OK


def _modified(entry: dict[str, Any]) -> str | None:
    for name in ("LastModified", "last_modified", "mtime", "updated", "modified"):
        value = entry.get(name)
        if value is None:
            continue
        if isinstance(value, int | float):
            import datetime as dt

            return dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace("+00:00", "Z")
        if hasattr(value, "isoformat"):
            return str(value.isoformat())
        return str(value)
    return None


def cmd_cp(args: argparse.Namespace) -> int:
    source, target = args.source, args.target
    if _is_byob(source) == _is_byob(target):
        raise UsageError(
            "cp copies between a local path and a byob:// path: one of SRC and DST must be "
            "byob://TEAM/KEY, the other a local file"
        )
    fs = _byob(args).fs()
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    callback = _callback(show and not args.json)
    try:
        if _is_byob(target):
            if os.path.isdir(source) and not args.recursive:
                raise UsageError(f"{source} is a directory: add --recursive")
            if not os.path.exists(source):
                raise UsageError(f"no such local file: {source}")
            if target.endswith("/"):
                target += os.path.basename(source.rstrip("/"))
            fs.put(source, target, recursive=args.recursive, callback=callback)
            direction = "uploaded"
        else:
            if os.path.isdir(target) and not args.recursive:
                target = os.path.join(target, source.rstrip("/").rsplit("/", 1)[-1])
            fs.get(source, target, recursive=args.recursive, callback=callback)
            direction = "downloaded"
    except FileNotFoundError as exc:
        raise UsageError(f"not found: {exc.filename or exc}") from None
    except PermissionError as exc:
        raise UsageError(str(exc)) from None
    finally:
        callback.close()
    if args.json:
        out_json({"source": source, "target": target, "copied": direction})
    else:
        out(f"{direction} {source} -> {target}")
    return EXIT_OK


def _callback(show: bool) -> Any:
    """fsspec's tqdm callback writing to stderr, or a silent one."""
    from fsspec.callbacks import NoOpCallback, TqdmCallback

    if not show:
        return NoOpCallback()
    bar = TqdmCallback(
        tqdm_kwargs={"unit": "B", "unit_scale": True, "unit_divisor": 1024, "file": sys.stderr}
    )
    return bar


def cmd_rm(args: argparse.Namespace) -> int:
    fs = _byob(args).fs()
    removed = []
    for path in args.paths:
        _byob_path(path)
        try:
            if fs.isdir(path) and not args.recursive:
                raise UsageError(f"{path} is a directory: add --recursive")
            fs.rm(path, recursive=args.recursive)
        except FileNotFoundError:
            raise UsageError(f"no such byob path: {path}") from None
        except PermissionError as exc:
            raise UsageError(str(exc)) from None
        removed.append(path)
    if args.json:
        out_json({"removed": removed})
    else:
        for path in removed:
            out(f"removed {path}")
    return EXIT_OK


# -- completion ----------------------------------------------------------------------------------
def _tree(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Options and subcommands of a parser, recursively."""
    options = [o for a in parser._actions for o in a.option_strings]
    subs: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                subs[name] = _tree(child)
    return {"options": options, "subs": subs}


def completion_script(shell: str) -> str:
    from byob_core.cli import build_parser

    tree = _tree(build_parser())
    cases = []

    def walk(path: list[str], node: dict[str, Any]) -> None:
        words = " ".join([*node["subs"], *node["options"]])
        cases.append((" ".join(path), words))
        for name, child in node["subs"].items():
            walk([*path, name], child)

    walk([], tree)
    lines = [
        '# byob shell completion: eval "$(python -m byob_core completion ' + shell + ')"',
        "_byob_complete() {",
        "  local cur cmd w",
        '  cur="${COMP_WORDS[COMP_CWORD]}"',
        '  cmd=""',
        '  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do',
        '    case "$w" in -*) ;; *) case " $(_byob_words "$cmd") " in *" $w "*) cmd="${cmd:+$cmd }$w" ;; esac ;; esac',
        "  done",
        '  COMPREPLY=( $(compgen -W "$(_byob_words "$cmd")" -- "$cur") )',
        "}",
        "_byob_words() {",
        '  case "$1" in',
    ]
    for path, words in cases:
        lines.append(f'    "{path}") echo "{words}" ;;')
    lines += ["  esac", "}"]
    if shell == "zsh":
        lines.insert(1, "autoload -U +X bashcompinit && bashcompinit")
    lines += [
        "complete -o default -F _byob_complete byob",
    ]
    return "\n".join(lines)


def cmd_completion(args: argparse.Namespace) -> int:
    out(completion_script(args.shell))
    return EXIT_OK
