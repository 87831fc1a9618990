"""Signing for `byob_core.api.Byob`: the prepared routes, `Signer`, and `Byob.sign`.

`SignMixin` holds the signing verbs; `Byob` inherits them. Import `Byob`, `Signer` and
`RECHECK_SECONDS` from `byob_core.api`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from byob_core import keys
from byob_core.errors import ByobError, PluginError
from byob_core.signing import (
    KeySigner,
    SignedRequest,
    SignRequest,
    as_utc,
    normalize_method,
    resolve_lifetime,
    utcnow,
)

if TYPE_CHECKING:
    from byob_core.api import Byob
    from byob_core.config import Config, Resolution
    from byob_core.plugins import PluginHost
    from byob_core.stores import Store

#: How long a prepared signing route serves before the core resolves the team again and
#: asks the plugin for a fresh signer (rotated or refreshed credentials show up then).
RECHECK_SECONDS = 60.0


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


class SignMixin:
    """`Byob.sign`, `Byob.signer` and the route cache behind them."""

    if TYPE_CHECKING:
        config: Config
        host: PluginHost
        _routes: dict[tuple[Any, ...], _Route]

        def _check_use(self, where: Resolution, reader: str | None) -> None: ...

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
        return Signer(self, key, self._prepare_signer(*key))  # type: ignore[arg-type]

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
