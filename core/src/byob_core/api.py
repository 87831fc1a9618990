"""`Byob`: the library API behind the CLI and ``byob://``. One object per configuration.

>>> b = Byob.from_env(environ={"BYOB_DATA_DIR": "/tmp/byob-doc"})
>>> b.locate("kappa", "runs/a.bin")[1]
'runs/a.bin'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import structlog

from byob_core import config as config_mod
from byob_core import keys
from byob_core.config import Config, Resolution
from byob_core.errors import ByobError, PluginError, ProvisionError
from byob_core.findings import Finding, Report, Status
from byob_core.plans import Action, Change, Plan
from byob_core.plugins import PluginHost
from byob_core.provider import ProvisionContext, ValidateContext
from byob_core.records import TeamRecords, check_reader, store_location
from byob_core.signing import (
    CompletedPart,
    KeySigner,
    MultipartPlan,
    MultipartUpload,
    SignedRequest,
    SignRequest,
    as_utc,
    normalize_method,
    parse_size,
    plan_multipart,
    resolve_lifetime,
    utcnow,
)
from byob_core.stores import Store

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from byob_core.fs import ByobFileSystem
    from byob_core.gc import GcOptions, GcReport, LiveSet
    from byob_core.gcscale import Execution
    from byob_core.transfer import Progress, Transfer

log = structlog.get_logger("byob")

MARKER_KEY = f"{keys.RESERVED}/store.json"
#: How long a prepared signing route serves before the core resolves the team again and
#: asks the plugin for a fresh signer (rotated or refreshed credentials show up then).
RECHECK_SECONDS = 60.0
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


class _Route:
    """What signing for one (team, method, lifetime, reader) needs, resolved once.

    Built by `Byob._prepare_signer`; serves until `deadline` (monotonic) or until the
    configuration object changes, whichever comes first.
    """

    __slots__ = ("config", "deadline", "lifetime", "method", "owner", "prefix", "signer", "where")

    def __init__(
        self,
        *,
        config: Config,
        where: Resolution,
        method: str,
        lifetime: dt.timedelta,
        signer: KeySigner,
        owner: str,
    ) -> None:
        self.config = config
        self.where = where
        self.method = method
        self.lifetime = lifetime
        self.signer = signer
        self.owner = owner
        self.prefix = where.store.prefix
        self.deadline = time.monotonic() + RECHECK_SECONDS

    def sign(
        self, keys_: Iterable[str], at: dt.datetime | None, user: str | None
    ) -> list[SignedRequest]:
        prefix = self.prefix
        full_key = keys.full_key
        full = [full_key(prefix, key) for key in keys_]
        if not full:
            return []
        signed = self.signer.sign_keys(full, at=None if at is None else as_utc(at), user=user)
        if len(signed) != len(full):
            raise PluginError(
                f"the {self.owner!r} plugin returned {len(signed)} signed requests for "
                f"{len(full)} keys"
            )
        return signed


class Signer:
    """Signs keys of one team's store with one method and lifetime (see `Byob.signer`).

    Holds no credentials of its own: each call takes the route `Byob` has prepared (and
    re-checks every `RECHECK_SECONDS`), so a long-lived `Signer` follows configuration
    and credential changes like `Byob.sign` does.
    """

    __slots__ = ("_byob", "_key", "_route")

    def __init__(self, byob: Byob, key: tuple[Any, ...], route: _Route) -> None:
        self._byob = byob
        self._key = key
        self._route = route

    @property
    def store(self) -> Store:
        return self._route.where.store

    @property
    def method(self) -> str:
        return self._route.method

    @property
    def lifetime(self) -> dt.timedelta:
        return self._route.lifetime

    def __repr__(self) -> str:
        route = self._route
        return f"Signer({route.where.store.display}, {route.method}, {route.lifetime})"

    def sign(
        self, keys_: Iterable[str], *, at: dt.datetime | None = None, user: str | None = None
    ) -> list[SignedRequest]:
        """One `SignedRequest` per key, in order; the same output as `Byob.sign`."""
        route = self._route
        if route.config is not self._byob.config or time.monotonic() >= route.deadline:
            route = self._route = self._byob._prepare_signer(*self._key)
        return route.sign(keys_, at, user)


class Byob:
    """Everything byob does, for one configuration and one set of plugins."""

    REGISTRY = "teams.json"

    def __init__(self, config: Config, host: PluginHost | None = None) -> None:
        from byob_core import logs

        logs.configure(only_if_unconfigured=True)
        self.config = config
        self.host = host if host is not None else PluginHost.load()
        self._routes: dict[tuple[Any, ...], _Route] = {}
        #: Where each team's store was when the team was created (`byob_core.records`).
        self.records = TeamRecords(config.data_dir)

    @classmethod
    def from_env(
        cls,
        config_path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        host: PluginHost | None = None,
    ) -> Byob:
        """Load the configuration (``config_path``, else ``BYOB_CONFIG``, else the default)."""
        return cls(config_mod.load(config_path, environ=environ), host)

    # -- addressing ---------------------------------------------------------------------
    def resolve(self, team: str | None = None, *, reader: str | None = None) -> Resolution:
        """The store that serves `team` (its team store, else the instance store).

        Every verb comes through here, so the rules of the point of use are checked here:
        a team's store must be where the team was created (`StoreChangedError`), and when
        `reader` names the team that reads, the visibility rule must let it
        (`VisibilityError`). Both are `PermissionError` subclasses; the CLI exits 2.
        """
        where = self.config.resolve(team)
        self._check_use(where, reader)
        return where

    def _check_use(self, where: Resolution, reader: str | None) -> None:
        """The rules of the point of use, for `resolve` and for signing (`_check_sign`)."""
        self.records.check(where)
        if reader is not None:
            check_reader(self.config, reader, where)

    def locate(
        self, team: str | None, key: str, *, reader: str | None = None
    ) -> tuple[Resolution, str]:
        """The resolution for `team` and the full object key of `key` in its store."""
        where = self.resolve(team, reader=reader)
        return where, keys.join(where.store.subpath, key)

    def filesystem(self, store: Store) -> AbstractFileSystem:
        """The provider's own fsspec filesystem for `store` (paths are ``<bucket>/<full key>``)."""
        return self.host.filesystem(store)

    def fs(self) -> ByobFileSystem:
        """The ``byob://<team>/<key>`` filesystem over this configuration (the key guard applies)."""
        from byob_core.fs import ByobFileSystem

        return ByobFileSystem(byob=self)

    def teams(self) -> list[str]:
        """Every team the configuration gives its own store, sorted."""
        return sorted(self.config.teams)

    # -- sign ---------------------------------------------------------------------------
    def sign(
        self,
        keys_: Iterable[str],
        *,
        team: str | None = None,
        method: str = "GET",
        expires: dt.timedelta | int | None = None,
        user: str | None = None,
        at: dt.datetime | None = None,
        reader: str | None = None,
        **extra: Any,
    ) -> list[SignedRequest]:
        """Pre-sign one request per key, in order (defaults: 1 h for reads, 24 h for PUT).

        `reader` names the team the URLs are for: the visibility rule must let it read
        `team`'s store (`VisibilityError` otherwise). `extra` goes into each `SignRequest`
        (content_type, content_md5, version_id, response_headers). Every key passes the
        sub-path prefix and the escape guard. Resolution, routing, the checks of
        `_check_sign` and the plugin's signer are prepared once per (team, method,
        lifetime, reader) and re-checked every `RECHECK_SECONDS` (see `signer`).
        """
        route = self._routes.get((team, method, expires, reader))
        if route is None or route.config is not self.config or time.monotonic() >= route.deadline:
            try:
                route = self._prepare_signer(team, method, expires, reader)
            except ByobError:
                # A bad key is the more specific mistake: name it first.
                for key in keys_:
                    keys.check(key)
                raise
        if not extra:
            return route.sign(keys_, at, user)
        when = as_utc(at) if at is not None else utcnow()
        prefix, full_key = route.prefix, keys.full_key
        requests = [
            SignRequest(
                key=full_key(prefix, key),
                method=route.method,
                expires=route.lifetime,
                at=when,
                user=user,
                **extra,
            )
            for key in keys_
        ]
        if not requests:
            return []
        return self.host.sign(route.where.store, requests)

    def signer(
        self,
        team: str | None = None,
        *,
        method: str = "GET",
        expires: dt.timedelta | int | None = None,
        reader: str | None = None,
    ) -> Signer:
        """A `Signer` for `team`'s store: ``signer(...).sign(keys)`` is ``sign(keys, ...)``.

        For a server that signs one URL per request: the configuration is resolved, the
        lifetime checked and the plugin's signer built here, once, not on every call.
        `reader` is as in `sign`.
        """
        key = (team, method, expires, reader)
        return Signer(self, key, self._prepare_signer(*key))

    def _prepare_signer(
        self,
        team: str | None,
        method: str,
        expires: dt.timedelta | int | None,
        reader: str | None = None,
    ) -> _Route:
        """Resolve, check and route signing for (team, method, lifetime, reader), and cache it.

        This is the one place where signing is decided; checks on who may sign what (the
        team that will read, the team's recorded store) belong in `_check_sign`, which
        runs here, on every preparation and every re-check, never on a cache hit.
        """
        config = self.config
        where = config.resolve(team)
        store = where.store
        verb = normalize_method(method)
        self._check_sign(where, verb, reader)
        spec = self.host.spec(store.provider)
        lifetime = resolve_lifetime(verb, expires, spec.max_expiry)
        route = _Route(
            config=config,
            where=where,
            method=verb,
            lifetime=lifetime,
            signer=self.host.signer(store, verb, lifetime),
            owner=self.host.owner(store.provider),
        )
        if len(self._routes) >= 256:
            self._routes.clear()
        self._routes[(team, method, expires, reader)] = route
        return route

    def _check_sign(self, where: Resolution, method: str, reader: str | None) -> None:
        """Refuse to sign for `where` when policy forbids it: the checks of `resolve`.

        A team store that moved since `team create` (`StoreChangedError`), and a `reader`
        the visibility rule keeps out (`VisibilityError`), for every method. Called by
        `_prepare_signer`; its verdict is cached with the route for up to `RECHECK_SECONDS`.
        """
        self._check_use(where, reader)

    # -- multipart ------------------------------------------------------------------------
    def upload_plan(self, size: int | str, *, team: str | None = None) -> MultipartPlan:
        """How an object of `size` (bytes, or a size such as ``"3GiB"``) is uploaded to
        `team`'s store: one PUT below 2 GiB, parts from 2 GiB on, for every provider."""
        spec = self.host.spec(self.resolve(team).store.provider)
        return plan_multipart(
            parse_size(size), min_part_size=spec.min_part_size, max_parts=spec.max_parts
        )

    def create_upload(
        self, key: str, *, team: str | None = None, content_type: str | None = None
    ) -> MultipartUpload:
        where, full = self.locate(team, key)
        return self.host.multipart(where.store).create(full, content_type=content_type)

    def sign_parts(
        self,
        upload: MultipartUpload,
        parts: Sequence[tuple[int, str | None]],
        *,
        team: str | None = None,
        expires: dt.timedelta | int | None = None,
        at: dt.datetime | None = None,
        user: str | None = None,
    ) -> list[SignedRequest]:
        store = self._upload_store(upload, team)
        spec = self.host.spec(store.provider)
        for number, _ in parts:
            if not 1 <= number <= spec.max_parts:
                raise ByobError(f"part number {number} is outside 1..{spec.max_parts}")
        lifetime = resolve_lifetime("PUT", expires, spec.max_expiry)
        return self.host.multipart(store).sign_parts(
            upload, parts, expires=lifetime, at=at or utcnow(), user=user
        )

    def complete_upload(
        self, upload: MultipartUpload, parts: Sequence[CompletedPart], *, team: str | None = None
    ) -> None:
        store = self._upload_store(upload, team)
        self.host.multipart(store).complete(upload, sorted(parts, key=lambda p: p.number))

    def abort_upload(self, upload: MultipartUpload, *, team: str | None = None) -> None:
        self.host.multipart(self._upload_store(upload, team)).abort(upload)

    def _upload_store(self, upload: MultipartUpload, team: str | None) -> Store:
        store = self.resolve(team).store
        keys.relative(store.subpath, upload.key) if store.subpath else keys.check(upload.key)
        return store

    # -- whole files through signed requests ---------------------------------------------
    def upload_file(
        self,
        path: str | os.PathLike[str],
        key: str,
        *,
        team: str | None = None,
        content_type: str | None = None,
        part_size: int | None = None,
        progress: Progress | None = None,
        user: str | None = None,
    ) -> Transfer:
        """Upload a local file to `key` as a client would: signed PUTs, in parts when large.

        Parts follow `upload_plan`, or `part_size` bytes each (at least the provider's
        minimum part size, 5 MiB on S3); `progress(done, total)` is called after each part.
        A failed part aborts the multipart upload.
        """
        from byob_core import transfer

        return transfer.upload_file(
            self,
            path,
            key,
            team=team,
            content_type=content_type,
            part_size=part_size,
            progress=progress,
            user=user,
        )

    def download_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        team: str | None = None,
        progress: Progress | None = None,
        user: str | None = None,
    ) -> Transfer:
        """Download `key` to a local file through a signed GET (written atomically)."""
        from byob_core import transfer

        return transfer.download_file(self, key, path, team=team, progress=progress, user=user)

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

    # -- garbage collection ---------------------------------------------------------------
    def gc(
        self,
        live: Iterable[str] | LiveSet,
        *,
        team: str | None = None,
        options: GcOptions | None = None,
        execution: Execution | None = None,
        inventory: str | None = None,
        **kw: Any,
    ) -> GcReport:
        """Collect garbage in `team`'s store: delete what `live` does not name (see `byob_core.gc`).

        `execution` shards the run and picks the executor (`byob_core.gcscale.Execution`:
        this process, or Dask); `inventory` names an inventory manifest read instead of
        listing (`byob_core.inventory`).
        """
        from byob_core import gc, gcscale

        store = self.resolve(team).store
        opts = options if options is not None else gc.GcOptions()
        if opts.journal is None and opts.data_dir is None:
            opts = attrs.evolve(opts, data_dir=self.config.data_dir)
        # Another configured store inside this one's sub-path is never collected with it.
        nested = gc.nested_prefixes(store, self.config.stores().values())
        if execution is None and inventory is None:
            return gc.collect(self.host, store, live, opts, nested=nested, **kw)
        return gcscale.collect(
            self.host, store, live, opts, execution, inventory=inventory, nested=nested, **kw
        )


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


__all__ = ["RECHECK_SECONDS", "Byob", "Marker", "Signer", "Status"]
