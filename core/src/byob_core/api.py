"""`Byob`: the library API behind the CLI and ``byob://``. One object per configuration.

>>> b = Byob.from_env(environ={"BYOB_DATA_DIR": "/tmp/byob-doc"})
>>> b.locate("kappa", "runs/a.bin")[1]
'runs/a.bin'
"""

from __future__ import annotations

import os
import time  # noqa: F401  (tests patch ``api.time.monotonic``)
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from byob_core import config as config_mod
from byob_core import keys
from byob_core.api_checks import (
    MARKER_KEY,
    PROBE_PREFIX,
    ChecksMixin,
    Marker,
    _reachability,
    _tag,
    store_identity,
)
from byob_core.api_gc import GcMixin
from byob_core.api_sign import RECHECK_SECONDS, Signer, SignMixin, _Route
from byob_core.api_uploads import UploadsMixin
from byob_core.config import Config, Resolution
from byob_core.findings import Status
from byob_core.plugins import PluginHost
from byob_core.records import TeamRecords, check_reader
from byob_core.stores import Store

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from byob_core.fs import ByobFileSystem

log = structlog.get_logger("byob")


class Byob(SignMixin, UploadsMixin, ChecksMixin, GcMixin):
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


__all__ = ["RECHECK_SECONDS", "Byob", "Marker", "Signer", "Status"]
# Re-exported for the modules and tests that import them from here.
_REEXPORTED = (MARKER_KEY, PROBE_PREFIX, _reachability, _tag, store_identity)
