"""Garbage collection for `byob_core.api.Byob` (`GcMixin`; the collector is `byob_core.gc`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from byob_core.config import Config, Resolution
    from byob_core.gc import GcOptions, GcReport, LiveSet
    from byob_core.gcscale import Execution
    from byob_core.plugins import PluginHost


class GcMixin:
    """`Byob.gc`."""

    if TYPE_CHECKING:
        config: Config
        host: PluginHost

        def resolve(self, team: str | None = None, *, reader: str | None = None) -> Resolution: ...

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
