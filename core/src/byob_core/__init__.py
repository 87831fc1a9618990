"""byob: bring your own bucket. The plugin core: stores, scopes, keys and the four verbs.

The public API is what `__all__` lists: `Byob` for code that embeds byob (see
``docs/api.md``); plugin authors need `hookimpl`, `ProviderSpec` and the value types
their hooks return. `Byob` and `Transfer` are imported on first use, so that
``import byob_core`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

#: Marker for hook implementations: ``@byob_core.hookimpl``.
hookimpl = pluggy.HookimplMarker("byob")

from byob_core.errors import (  # noqa: E402
    ByobError,
    ConfigError,
    GcError,
    PluginError,
    ProviderNotFoundError,
    SigningError,
    StoreAccessError,
    StoreChangedError,
    UnknownTeamError,
    UnsafeKeyError,
    UnsupportedError,
    UriError,
    VisibilityError,
)
from byob_core.findings import Finding, Report, Status  # noqa: E402
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest  # noqa: E402
from byob_core.plans import Action, Change, Plan  # noqa: E402
from byob_core.provider import (  # noqa: E402
    Multipart,
    ProviderSpec,
    ProvisionContext,
    ValidateContext,
)
from byob_core.signing import (  # noqa: E402
    CompletedPart,
    MultipartPlan,
    MultipartUpload,
    Part,
    SignedRequest,
    SignRequest,
    parse_size,
    plan_multipart,
)
from byob_core.stores import Credentials, Store  # noqa: E402

if TYPE_CHECKING:
    from byob_core.api import Byob
    from byob_core.transfer import Transfer

_LAZY = {"Byob": "byob_core.api", "Transfer": "byob_core.transfer"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'byob_core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Action",
    "Byob",
    "ByobError",
    "Change",
    "CompletedPart",
    "ConfigError",
    "Credentials",
    "DeleteBatch",
    "DeleteResult",
    "Entry",
    "Finding",
    "GcError",
    "Kind",
    "ListRequest",
    "Multipart",
    "MultipartPlan",
    "MultipartUpload",
    "Part",
    "Plan",
    "PluginError",
    "ProviderNotFoundError",
    "ProviderSpec",
    "ProvisionContext",
    "Report",
    "SignRequest",
    "SignedRequest",
    "SigningError",
    "Status",
    "Store",
    "StoreAccessError",
    "StoreChangedError",
    "Transfer",
    "UnknownTeamError",
    "UnsafeKeyError",
    "UnsupportedError",
    "UriError",
    "ValidateContext",
    "VisibilityError",
    "__version__",
    "hookimpl",
    "parse_size",
    "plan_multipart",
]
