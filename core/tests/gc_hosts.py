"""Plugin hosts with injected faults, for Dask workers (they import this module by name:
the tests put this folder on ``sys.path`` before the cluster starts).

A fault is chosen by the store's options, so one factory serves every test:
``{"fault": "raise", "on_key": K}`` raises OSError from a delete batch holding key K;
``{"fault": "exit", "on_key": K}`` ends the worker process there (a killed worker).
Nothing is deleted by the batch that fails.
"""

from __future__ import annotations

import os
from typing import Any

from byob_core.plugins import PluginHost


class FaultyHost:
    def __init__(self, host: PluginHost) -> None:
        self._host = host

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    def garbage_collect(self, store: Any, batch: Any) -> Any:
        fault = store.options.get("fault")
        marker = store.options.get("on_key")
        if fault and any(entry.key.endswith(marker) for entry in batch.entries):
            flag = store.options.get("once_flag")
            if flag and os.path.exists(flag):
                return self._host.garbage_collect(store, batch)  # the fault has fired
            if flag:
                open(flag, "w").close()
            if fault == "exit":
                os._exit(17)
            raise OSError(f"injected fault at {marker}")
        return self._host.garbage_collect(store, batch)


def faulty_host() -> Any:
    return FaultyHost(PluginHost.load())
