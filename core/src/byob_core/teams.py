"""Creating a team with its own store: the command-line form of the product's team form.

It checks first (name, store, deployment matrix, allow-list, markers) and shows errors
and warnings as the form does, provisions a new bucket or attaches an existing one,
leaves the marker, adds the team to the configuration file with its comments kept, and
records where its store is (``<data_dir>/teams.json``). A team's store cannot be changed
once the team exists: every verb refuses a configured store that differs from the record.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from byob_core import config as config_mod
from byob_core import uris
from byob_core.api import Byob
from byob_core.errors import ByobError, ConfigError, UnknownTeamError
from byob_core.findings import Report
from byob_core.plans import Action, Plan


@attrs.frozen(kw_only=True)
class TeamCreation:
    """What `create_team` did."""

    team: str
    config_path: Path
    attached: bool
    warnings: tuple[str, ...] = ()
    plan: Plan | None = None
    report: Report | None = None

    @property
    def ok(self) -> bool:
        return self.report is None or self.report.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "config": str(self.config_path),
            "attached": self.attached,
            "warnings": list(self.warnings),
            "plan": self.plan.to_dict() if self.plan else None,
            "validation": self.report.to_dict() if self.report else None,
            "ok": self.ok,
        }


def write_config(path: Path, text: str, mode: int) -> None:
    """Replace the configuration file atomically through ``<path>.tmp``, which never stays
    behind: a failed write or rename removes it, and the error names the file (exit 2)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ConfigError(
                [("--config", f"cannot write {path}: {exc.strerror or exc}")], source=str(path)
            ) from None
        raise


def create_team(
    name: str,
    *,
    store_uri: str | None = None,
    fields: Mapping[str, Any] | None = None,
    config_path: str | os.PathLike[str] | None = None,
    provision: bool = True,
    echo: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> TeamCreation:
    """Create team `name` with the store given as a connection string or as fields."""
    import tomlkit

    env = os.environ if environ is None else environ
    say = echo or (lambda _text: None)
    path = config_mod.config_path(config_path, environ=env)
    config_mod.check_team_name(name)
    if path.exists() and not path.is_file():
        raise ConfigError(
            [("--config", f"{path} is not a regular file (a directory?)")],
            source=str(path),
        )
    fields = dict(fields or {})
    if store_uri and fields:
        raise ConfigError([("--store", "give either --store or the store's fields, not both")])
    if not store_uri and not fields:
        raise ConfigError(
            [("--store", "give --store <connection string>, or --provider and --bucket")]
        )

    document = (
        tomlkit.parse(config_mod.read_config_text(path)) if path.is_file() else tomlkit.document()
    )
    existing = document.get("teams", {})
    if existing.get(name):
        raise ConfigError(
            [
                (
                    f"teams.{name}",
                    "the team already exists with its store; a team's store cannot be "
                    "changed after the team is created: that is a migration, not an edit",
                )
            ],
            source=str(path),
        )

    entry: dict[str, Any] = (
        {"store": store_uri} if store_uri else {k: v for k, v in fields.items() if v is not None}
    )
    if store_uri:
        uris.parse(store_uri, environ=env)  # fail early, with the connection-string message

    # The whole configuration with the new team must pass every rule.
    candidate = document.unwrap()
    candidate.setdefault("teams", {})[name] = entry
    config = config_mod.from_mapping(candidate, environ=env, source=path)
    for warning in config.warnings:
        say(f"warning: {warning}")
    byob = Byob(config)
    where = byob.resolve(name)

    marker = None
    try:
        marker = byob.read_marker(where.store)
    except Exception as exc:  # an unreachable store is a finding of the validation below
        say(f"warning: cannot read the store's marker yet: {type(exc).__name__}")
    if marker is not None:
        conflict = byob._marker_conflict(where, marker)
        if conflict:
            raise ByobError(conflict, hint="choose a distinct sub-path for the new team")

    plan = None
    attached = False
    if provision:
        preview = byob.plan(name)
        bucket_changes = [
            c for c in preview.changes if c.name in ("bucket", "directory", "container")
        ]
        attached = bool(bucket_changes) and all(c.action is Action.NONE for c in bucket_changes)
        say(
            ("attaching existing" if attached else "provisioning new")
            + f" store {where.store.display}"
        )
        # The team's record is written below, once the team is created, not before.
        plan = byob._provision(name, apply=True, record=False)
        for change in plan.changes:
            if change.action is not Action.NONE:
                say(f"  {change.action.value:7} {change.name}: {change.summary}")
    report = byob.validate(name)
    for finding in report.findings:
        if finding.status.value in ("fail", "warn"):
            say(
                f"{finding.status.value}: {finding.check}: {finding.message}"
                + (f" ({finding.hint})" if finding.hint else "")
            )

    result = TeamCreation(
        team=name,
        config_path=path,
        attached=attached,
        warnings=tuple(config.warnings),
        plan=plan,
        report=report,
    )
    if not report.ok:
        say(f"team {name} NOT created: the store failed validation (see above)")
        return result
    teams = document.get("teams")
    if teams is None:
        teams = tomlkit.table(is_super_table=True)
        document["teams"] = teams
    table = tomlkit.table()
    for key, value in entry.items():
        table[key] = value
    teams[name] = table
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file may hold connection strings with keys: keep it private to its owner.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    write_config(path, tomlkit.dumps(document), mode)
    # Where the team's store is, from now on checked by every verb (`byob_core.records`).
    byob.records.record(name, where.store)
    say(f"team {name} created; recorded in {path}")
    return result


@attrs.frozen(kw_only=True)
class Rotation:
    """What `rotate_credentials` did: which credential fields changed (names, never values)."""

    team: str
    config_path: Path
    changed: tuple[str, ...]
    report: Report
    written: bool

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "config": str(self.config_path),
            "changed": list(self.changed),
            "written": self.written,
            "validation": self.report.to_dict(),
            "ok": self.ok,
        }


#: Fields a rotation may carry over from the old entry of a connection-string team.
_KEPT_WITH_URI = ("options", "kms_key_arn", "tenant_id", "client_id")


def rotate_credentials(
    name: str,
    *,
    store_uri: str | None = None,
    settings: Mapping[str, str] | None = None,
    unset: Sequence[str] = (),
    config_path: str | os.PathLike[str] | None = None,
    read_only: bool = False,
    echo: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Rotation:
    """Give team `name`'s store new credentials: the same store, validated with them first.

    New credentials are not a migration: the bucket, sub-path, endpoint and every other
    field that says *where* the store is must stay as they are (changing them is refused).
    The configuration file is written only when the validation with the new credentials
    passes, and its comments are kept.
    """
    import tomlkit

    from byob_core.stores import CREDENTIAL_FIELDS

    env = os.environ if environ is None else environ
    say = echo or (lambda _text: None)
    settings = dict(settings or {})
    path = config_mod.config_path(config_path, environ=env)
    config_mod.check_team_name(name)
    if not store_uri and not settings and not unset:
        raise ConfigError(
            [("team rotate", "give the new credentials: --store URI, or --set FIELD=VALUE")]
        )
    for field in [*settings, *unset]:
        if field not in CREDENTIAL_FIELDS:
            raise ConfigError(
                [
                    (
                        field,
                        f"is not a credential field (credential fields: {', '.join(CREDENTIAL_FIELDS)}); "
                        "changing where a team store is calls for a migration, not a rotation",
                    )
                ]
            )
    if not path.is_file():
        raise ConfigError([("", f"configuration file {path} does not exist")])
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    old_config = config_mod.from_mapping(document.unwrap(), environ=env, source=path)
    old_store = old_config.teams.get(name)
    raw = document.get("teams", {}).get(name)
    if old_store is None or raw is None:
        raise UnknownTeamError(
            f"team {name!r} has no store of its own in {path}",
            hint="`team list` shows the teams with a store; `team create` makes one",
        )
    old_entry: dict[str, Any] = {"store": str(raw)} if isinstance(raw, str) else dict(raw.unwrap())
    if store_uri:
        uris.parse(store_uri, environ=env)  # the connection-string message, before anything else
        entry = {"store": store_uri, **{k: old_entry[k] for k in _KEPT_WITH_URI if k in old_entry}}
    else:
        entry = dict(old_entry)
        if "store" in entry and uris.parse(str(entry["store"]), environ=env).credentials:
            raise ConfigError(
                [
                    (
                        f"teams.{name}.store",
                        "the connection string carries the credentials: rotate with "
                        "--store <the same connection string with the new credentials>",
                    )
                ],
                source=str(path),
            )
    for field in unset:
        entry.pop(field, None)
    entry.update(settings)

    candidate = document.unwrap()
    candidate["teams"][name] = entry
    new_config = config_mod.from_mapping(candidate, environ=env, source=path)
    new_store = new_config.teams[name]
    before = {k: v for k, v in old_store.to_dict().items() if k not in _CREDENTIAL_KEYS}
    after = {k: v for k, v in new_store.to_dict().items() if k not in _CREDENTIAL_KEYS}
    moved = sorted(k for k in before if before[k] != after[k])
    if moved:
        raise ConfigError(
            [
                (
                    f"teams.{name}",
                    f"the new entry changes {', '.join(moved)}, not only credentials; a team's "
                    "store cannot be changed after the team is created: that is a migration",
                )
            ],
            source=str(path),
        )
    changed = tuple(
        sorted(
            f
            for f in CREDENTIAL_FIELDS
            if getattr(old_store.credentials, f, None) != getattr(new_store.credentials, f, None)
        )
    )
    say(
        f"validating {new_store.display} with the new credentials ({', '.join(changed) or 'none changed'})"
    )
    report = Byob(new_config).validate(name, read_only=read_only)
    for finding in report.findings:
        if finding.status.value == "fail":
            say(f"fail: {finding.check}: {finding.message}")
    written = False
    if report.ok:
        teams = document["teams"]
        if isinstance(raw, str):
            teams[name] = entry["store"] if set(entry) == {"store"} else entry
        else:
            for key in list(raw):
                if key not in entry:
                    del raw[key]
            for key, value in entry.items():
                if raw.get(key) != value:
                    raw[key] = value
        write_config(path, tomlkit.dumps(document), path.stat().st_mode & 0o777)
        written = True
        say(f"team {name}: new credentials validated and recorded in {path}")
    else:
        say(f"team {name}: the new credentials failed validation; {path} is unchanged")
    return Rotation(team=name, config_path=path, changed=changed, report=report, written=written)


_CREDENTIAL_KEYS = ("has_credentials", "credential_fields")
