"""Provisioning and validation for `byob_core.api.Byob` (`ChecksMixin`): plan, provision,
the store marker, validate and its probe. Import `Marker` and `MARKER_KEY` from `byob_core.api`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import structlog

from byob_core import keys
from byob_core.config import Resolution
from byob_core.errors import ByobError, ProvisionError
from byob_core.findings import Finding, Report, Status
from byob_core.plans import Action, Change, Plan
from byob_core.provider import ProvisionContext, ValidateContext
from byob_core.records import store_location
from byob_core.signing import utcnow
from byob_core.stores import Store

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from byob_core.config import Config
    from byob_core.plugins import PluginHost
    from byob_core.records import TeamRecords

log = structlog.get_logger("byob")

MARKER_KEY = f"{keys.RESERVED}/store.json"
PROBE_PREFIX = f"{keys.RESERVED}/probe"


@attrs.frozen(kw_only=True)
class Marker:
    """What provisioning leaves inside a store's sub-path: which scope and team it serves."""

    scope: str
    team: str | None
    identity: Mapping[str, Any]
    created_at: str

    @classmethod
    def for_store(cls, store: Store, resolution: Resolution) -> Marker:
        return cls(
            scope=resolution.scope,
            team=resolution.team if resolution.scope == "team" else None,
            identity=store_identity(store),
            created_at=utcnow().isoformat().replace("+00:00", "Z"),
        )

    def to_json(self) -> str:
        return json.dumps({"byob": 1, **attrs.asdict(self)}, indent=2, sort_keys=True)


def store_identity(store: Store) -> dict[str, Any]:
    """The fields that make a store the same place; compared against markers and team records."""
    return store_location(store)


class ChecksMixin:
    """`Byob`'s plan, provision, marker and validation verbs."""

    if TYPE_CHECKING:
        config: Config
        host: PluginHost
        records: TeamRecords

        def resolve(self, team: str | None = None, *, reader: str | None = None) -> Resolution: ...

        def filesystem(self, store: Store) -> AbstractFileSystem: ...

    # -- provision ------------------------------------------------------------------------
    def _provision_context(self, where: Resolution, apply: bool) -> ProvisionContext:
        store = where.store
        return ProvisionContext(
            apply=apply,
            principal=self.config.principals.for_provider(store.provider),
            deployment=self.config.deployment,
            team=where.team,
            settings=dict(store.options),
        )

    def plan(self, team: str | None = None) -> Plan:
        """What `provision` would change; changes nothing."""
        return self._provision(team, apply=False)

    def provision(self, team: str | None = None) -> Plan:
        """Apply the plan, then leave the marker recording which scope and team the store serves."""
        return self._provision(team, apply=True)

    def _provision(self, team: str | None, *, apply: bool, record: bool = True) -> Plan:
        where = self.resolve(team)
        store = where.store
        if apply:
            self._refuse_foreign_marker(where)
        try:
            plan = self.host.provision(store, self._provision_context(where, apply))
        except ProvisionError as exc:
            # The marker is left only by a complete run; the partial plan says what was made.
            exc.plan = attrs.evolve(exc.plan, applied=apply, team=where.team)
            raise
        marker_change = self._marker_change(where, apply=apply)
        if apply and record and where.scope == "team" and where.team is not None:
            self.records.record(where.team, store)
        log.info(
            "provision" if apply else "plan",
            store=store.display,
            team=where.team,
            changes=len([c for c in plan.changes if c.action is not Action.NONE]),
        )
        return attrs.evolve(
            plan, changes=[*plan.changes, marker_change], applied=apply, team=where.team
        )

    # -- the local record of which store each team was created with -----------------------
    def registered_store(self, team: str) -> dict[str, Any] | None:
        """The location of the store `team` was created with here, if it was."""
        return self.records.get(team)

    def read_marker(self, store: Store) -> Marker | None:
        fs = self.filesystem(store)
        path = store.fs_path(keys.join(store.subpath, MARKER_KEY, allow_reserved=True))
        try:
            raw = fs.cat_file(path)
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            return Marker(
                scope=data["scope"],
                team=data.get("team"),
                identity=data.get("identity", {}),
                created_at=data.get("created_at", ""),
            )
        except (ValueError, KeyError, TypeError):
            return Marker(scope="?", team=None, identity={}, created_at="")

    def _marker_conflict(self, where: Resolution, marker: Marker) -> str | None:
        wanted_team = where.team if where.scope == "team" else None
        if (marker.scope, marker.team) != (where.scope, wanted_team):
            serving = f"team {marker.team!r}" if marker.scope == "team" else "the instance"
            return (
                f"this bucket and sub-path already serve {serving}; attaching them to "
                + (f"team {where.team!r}" if where.scope == "team" else "the instance")
                + " calls for a migration, not a configuration change"
            )
        mine = store_identity(where.store)
        theirs = {k: marker.identity.get(k) for k in mine}
        if marker.identity and theirs != mine:
            changed = sorted(k for k in mine if theirs[k] != mine[k])
            return (
                f"the configured store no longer matches the marker it finds ({', '.join(changed)} "
                "differ); a team store cannot be changed after the team is created: this calls "
                "for a migration"
            )
        return None

    def _refuse_foreign_marker(self, where: Resolution) -> None:
        marker = self.read_marker(where.store)
        if marker is not None:
            conflict = self._marker_conflict(where, marker)
            if conflict:
                raise ByobError(conflict, hint="use a distinct sub-path, or migrate the data")

    def _marker_change(self, where: Resolution, *, apply: bool) -> Change:
        store = where.store
        marker = self.read_marker(store)
        wanted = Marker.for_store(store, where)
        if marker is not None and self._marker_conflict(where, marker) is None:
            return Change(
                name="marker",
                action=Action.NONE,
                summary=f"marker {MARKER_KEY} records scope {marker.scope}",
                current=attrs.asdict(marker),
                desired=attrs.asdict(marker),
            )
        applied = False
        if apply:
            fs = self.filesystem(store)
            path = store.fs_path(keys.join(store.subpath, MARKER_KEY, allow_reserved=True))
            fs.pipe_file(path, wanted.to_json().encode())
            applied = True
        return Change(
            name="marker",
            action=Action.CREATE,
            summary=f"write marker {MARKER_KEY} recording scope {where.scope}"
            + (f" and team {where.team}" if where.scope == "team" else ""),
            current=attrs.asdict(marker) if marker else None,
            # created_at is stamped when written; leave it out so that plans are stable.
            desired=attrs.asdict(wanted, filter=lambda a, _: a.name != "created_at"),
            applied=applied,
        )

    # -- validate -------------------------------------------------------------------------
    def validate(self, team: str | None = None, *, read_only: bool = False) -> Report:
        """Run the core's checks and every applicable plugin's; see `Report.ok`."""
        where = self.resolve(team)
        store = where.store
        findings: list[Finding] = list(self._config_findings(where))
        self.host.spec(store.provider)  # a store no plugin serves is named before the network
        reach = _reachability(store)
        if reach is not None:
            findings.append(reach)
            if reach.status is Status.FAIL:
                findings.append(
                    Finding.skipped("core.checks", "every other check: the store is unreachable")
                )
                return Report(store=store, findings=[_tag(f) for f in findings], team=where.team)
        try:
            fs = self.filesystem(store)
        except ByobError:
            raise
        except Exception as exc:
            findings.append(
                Finding.failed(
                    "core.filesystem",
                    f"cannot open the store: {type(exc).__name__}: {exc}",
                    hint="check the credentials and endpoint",
                )
            )
            return Report(store=store, findings=findings, team=where.team)
        context = ValidateContext(
            read_only=read_only,
            principal=self.config.principals.for_provider(store.provider),
            deployment=self.config.deployment,
            team=where.team,
            fs=fs,
        )
        findings.extend(self.host.validate(store, context))
        findings.append(self._marker_finding(where))
        findings.extend(self._probe(store, fs, read_only=read_only))
        report = Report(store=store, findings=[_tag(f) for f in findings], team=where.team)
        self._record_validation(where, report)
        return report

    def validate_all(self, *, read_only: bool = False) -> dict[str, Report]:
        """Validate every configured store, by config key (``instance``, ``teams.<name>``).

        A store that cannot be validated at all (a missing plugin, say) gets a report
        with one failed ``core.error`` finding instead of stopping the others.
        """
        results: dict[str, Report] = {}
        for key, store in self.config.stores().items():
            team = key.removeprefix("teams.") if key.startswith("teams.") else None
            try:
                results[key] = self.validate(team, read_only=read_only)
            except ByobError as exc:
                finding = _tag(Finding.failed("core.error", Exception.__str__(exc), hint=exc.hint))
                results[key] = Report(store=store, findings=[finding], team=team)
        return results

    VALIDATIONS = "validations.json"

    def _record_validation(self, where: Resolution, report: Report) -> None:
        """Remember the outcome per store, for `team show` (local state, never a secret)."""
        name = where.team if where.scope == "team" and where.team else "instance"
        path = self.config.data_dir / self.VALIDATIONS
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            data = {}
        counts: dict[str, int] = {}
        for finding in report.findings:
            counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
        data[name] = {
            "at": utcnow().isoformat().replace("+00:00", "Z"),
            "store": report.store.display,
            "ok": report.ok,
            "counts": counts,
            "failed": [f.check for f in report.findings if f.status is Status.FAIL],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:  # a read-only data dir must not fail a validation
            log.warning("validation_not_recorded", error=str(exc))

    def last_validation(self, team: str | None = None) -> dict[str, Any] | None:
        """The outcome of the last validation of `team`'s store (None: never validated here)."""
        where = self.resolve(team)
        name = where.team if where.scope == "team" and where.team else "instance"
        try:
            data = json.loads((self.config.data_dir / self.VALIDATIONS).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        entry = data.get(name)
        return entry if isinstance(entry, dict) else None

    def _config_findings(self, where: Resolution) -> Iterable[Finding]:
        store = where.store
        if store.subpath:
            yield Finding.passed(
                "core.subpath", f"objects are kept under sub-path {store.subpath!r}"
            )
        else:
            yield Finding.warned(
                "core.subpath",
                "no sub-path: objects are written at the bucket root",
                hint="set subpath so that byob never writes at the root of the bucket",
            )
        sharing = self.config.sharing(store)
        if sharing:
            yield Finding.warned(
                "core.shared",
                f"bucket and sub-path are shared with {', '.join(sharing)}",
                hint="give each store a distinct sub-path so their objects stay apart",
            )
        else:
            yield Finding.passed("core.shared", "no other store shares this bucket and sub-path")

    def _marker_finding(self, where: Resolution) -> Finding:
        try:
            marker = self.read_marker(where.store)
        except Exception as exc:
            return Finding.failed(
                "core.marker",
                f"cannot read the marker: {type(exc).__name__}: {exc}",
                hint="check read permissions on the store",
            )
        if marker is None:
            return Finding.warned(
                "core.marker",
                "no byob marker in the store: it was not provisioned by byob",
                hint="run `python -m byob_core provision` to record which scope it serves",
            )
        conflict = self._marker_conflict(where, marker)
        if conflict:
            return Finding.failed("core.marker", conflict, hint="migrate the data to a new store")
        return Finding.passed("core.marker", f"marker matches: scope {marker.scope}")

    def _probe(self, store: Store, fs: AbstractFileSystem, *, read_only: bool) -> list[Finding]:
        checks = ("write", "read", "list", "delete")
        if read_only:
            return [Finding.skipped(f"core.probe.{c}", "read-only validation") for c in checks]
        key = keys.join(store.subpath, f"{PROBE_PREFIX}/{uuid.uuid4().hex}", allow_reserved=True)
        path = store.fs_path(key)
        payload = b"byob probe " + uuid.uuid4().hex.encode()
        findings: list[Finding] = []
        written = False

        def step(check: str, action: Any) -> bool:
            try:
                outcome = action()
            except Exception as exc:
                findings.append(
                    Finding.failed(
                        f"core.probe.{check}",
                        f"probe {check} failed: {type(exc).__name__}: {exc}",
                        hint="grant byob read, write, list and delete on the sub-path",
                    )
                )
                return False
            if outcome is not True:
                findings.append(
                    Finding.failed(f"core.probe.{check}", f"probe {check} failed: {outcome}")
                )
                return False
            findings.append(
                Finding.passed(f"core.probe.{check}", f"probe object {check} succeeded")
            )
            return True

        try:
            # pipe_file's return value differs by backend (None, metadata): only errors count.
            written = step("write", lambda: (fs.pipe_file(path, payload), True)[1])
            if written:
                step("read", lambda: fs.cat_file(path) == payload or "read back different bytes")
                parent = path.rsplit("/", 1)[0]
                step(
                    "list",
                    lambda: (
                        any(p.rstrip("/").endswith(key) for p in fs.ls(parent, detail=False))
                        or "the probe object is missing from the listing"
                    ),
                )
        finally:
            if written:
                ok = step("delete", lambda: (fs.rm_file(path), True)[1])
                if ok:
                    ok = self._purge_probe(store, key)
                if not ok:
                    log.warning("probe_cleanup_failed", store=store.display, key=key)
        done = {f.check for f in findings}
        findings += [
            Finding.skipped(f"core.probe.{c}", "skipped: an earlier probe step failed")
            for c in checks
            if f"core.probe.{c}" not in done
        ]
        return findings

    def _purge_probe(self, store: Store, key: str) -> bool:
        """Delete what the probe left on a versioned store (its version, a delete marker),
        each by its id, so that nothing of it remains; True when nothing is left.

        Versions go before markers: a marker removed first could bring the probe back.
        A provider that keeps no versions has nothing to purge.
        """
        from byob_core.objects import DeleteBatch, Kind, ListRequest

        if not self.host.spec(store.provider).versions:
            return True
        try:
            listing = self.host.list(store, ListRequest(kind=Kind.VERSIONS, prefix=key))
            left = [entry for entry in listing if entry.key == key and entry.version_id]
            for markers in (False, True):
                entries = [entry for entry in left if entry.is_delete_marker is markers]
                if entries:
                    result = self.host.garbage_collect(
                        store, DeleteBatch(kind=Kind.VERSIONS, entries=entries)
                    )
                    if result.errors:
                        return False
        except Exception as exc:  # the cleanup must not turn a passing probe into a crash
            log.warning("probe_purge_failed", store=store.display, error=type(exc).__name__)
            return False
        return True


def _reachability(store: Store) -> Finding | None:
    """One bounded TCP connection to the store's service (None when there is no address)."""
    from byob_core import network, retries

    address = network.address_of(store)
    if address is None:
        return None
    timeout = retries.policy_of(store).timeout
    why = network.unreachable(address, timeout)
    if why is None:
        return Finding.passed("core.reachable", f"{address} answers", address=str(address))
    return Finding.failed(
        "core.reachable",
        f"the store is unreachable: nothing answered at {address}: {why}",
        hint="check the endpoint, the TLS flag, the network and any firewall; "
        "options.timeout (or --timeout) sets how long to wait",
        address=str(address),
        timeout_seconds=timeout,
    )


def _tag(finding: Finding) -> Finding:
    return finding if finding.provider else attrs.evolve(finding, provider="core")
