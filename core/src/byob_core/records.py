"""The local record of where each team's store is, and the rules checked where a store is used.

`team create` (and the first `provision` of a team store) writes the team's store
*location* to ``<data_dir>/teams.json``: provider, bucket (or container), sub-path,
endpoint and account. A team's store cannot move after that, so every verb that uses a
team's store (sign, ``byob://``, gc, validate, plan, provision, upload-plan) compares the
configured location with the record first and refuses a difference, naming it.
Credentials are not the location: rotating keys changes nothing here.

The visibility rule is checked here too, where a caller names the team that reads
(`Config.can_read`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from byob_core.config import INSTANCE, Config, Resolution, check_team_name
from byob_core.errors import StoreChangedError, VisibilityError
from byob_core.stores import Store

FILE_NAME = "teams.json"
#: The fields that make a store the same place, in the order messages name them.
LOCATION_FIELDS = ("provider", "bucket", "subpath", "endpoint", "account")


def store_location(store: Store) -> dict[str, Any]:
    """What a team record holds for `store`: where it is, never how to get in."""
    return {
        "provider": store.provider,
        "bucket": store.bucket,
        "subpath": store.subpath,
        "endpoint": store.endpoint,
        "account": store.account,
    }


class TeamRecords:
    """``<data_dir>/teams.json``, read again only when the file changes."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._stamp: tuple[int, int, int] | None = None
        self._data: dict[str, Any] = {}

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def all(self) -> dict[str, Any]:
        stamp = self._stat()
        if stamp != self._stamp or stamp is None:
            data: Any = {}
            if stamp is not None:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = {}
            self._data = data if isinstance(data, dict) else {}
            self._stamp = stamp
        return self._data

    def get(self, team: str) -> dict[str, Any] | None:
        """The recorded location of `team`'s store, or None when it has no record."""
        entry = self.all().get(team)
        return entry if isinstance(entry, dict) else None

    def record(self, team: str, store: Store) -> None:
        """Record `team`'s store location (atomically; unchanged records are not rewritten)."""
        location = store_location(store)
        current = dict(self.all())
        if current.get(team) == location:
            return
        current[team] = location
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(current, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
        self._stamp = None

    def difference(self, where: Resolution) -> str | None:
        """Why `where` is not the store its team was created with, or None when it is."""
        team = where.team
        if team is None or team == INSTANCE:
            return None
        recorded = self.get(team)
        if recorded is None:
            return None
        was = _describe(recorded)
        if where.scope != "team":
            return (
                f"team {team!r} was created with its own store ({was}), but the configuration "
                "gives it none now, so it would use the instance store"
            )
        mine = store_location(where.store)
        changed = [f for f in LOCATION_FIELDS if recorded.get(f) != mine[f]]
        if not changed:
            return None
        detail = "; ".join(
            f"{f} {_value(recorded.get(f))} recorded, {_value(mine[f])} configured" for f in changed
        )
        return (
            f"team {team!r} was created with store {was}; the configured store differs in "
            f"{', '.join(changed)} ({detail})"
        )

    def check(self, where: Resolution) -> None:
        """Raise `StoreChangedError` when `where` is not the store its team was created with."""
        why = self.difference(where)
        if why is not None:
            raise StoreChangedError(
                why + "; a team's store cannot change after `team create`: moving it is a "
                "migration",
                hint=f"restore the recorded location in [teams.{where.team}], where only the "
                f"credentials may change, or migrate the data to a new team; record: {self.path}",
            )


def _value(value: Any) -> str:
    return "(none)" if value in (None, "") else repr(value)


def _describe(location: Mapping[str, Any]) -> str:
    try:
        store = Store(
            provider=str(location.get("provider") or "?"),
            bucket=str(location.get("bucket") or "?"),
            subpath=location.get("subpath") or "",
            endpoint=location.get("endpoint"),
            account=location.get("account"),
        )
    except (ValueError, TypeError):
        return json.dumps(dict(location), sort_keys=True)
    return store.display


def check_reader(config: Config, reader: str, where: Resolution) -> None:
    """Raise `VisibilityError` unless team `reader` may read what `where` serves."""
    if reader == INSTANCE:
        raise VisibilityError(
            f"reader {reader!r} is not a team", hint="name the team that reads: --reader TEAM"
        )
    check_team_name(reader)
    writer = where.team
    if config.can_read(reader, writer):
        return
    if where.scope == "team":
        raise VisibilityError(
            f"team {reader!r} may not read team {writer!r}'s objects: they live in "
            f"{writer!r}'s team store, which only {writer!r} reads (the visibility rule)",
            hint=f"read them as team {writer!r}, or keep shared data in the instance store",
        )
    owner = "the instance's" if writer is None else f"team {writer!r}'s"
    raise VisibilityError(
        f"team {reader!r} may not read {owner} objects: they live in the instance store and "
        "the organisation does not let teams read it "
        "(organization.instance_readable_by_teams = false)",
        hint="read them as the team that wrote them, or set "
        "organization.instance_readable_by_teams = true",
    )
