"""The one error tree of byob: every error is a `ByobError` and also the builtin it resembles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from byob_core import secrets


class ByobError(Exception):
    """Root of every error byob raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        # Messages are often built from input or from an SDK's text; a secret byob knows
        # must not reach str(), repr() or a traceback through them.
        # A connection string typed into the wrong place was never parsed, so its secret
        # is not registered: blank anything shaped like one too.
        clean = secrets.redact_connection_strings
        super().__init__(clean(message) if isinstance(message, str) else message)
        self.hint = clean(hint) if isinstance(hint, str) else hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class UriError(ByobError, ValueError):
    """A connection string is malformed; the message names the faulty part, never a secret."""


class UnsafeKeyError(ByobError, ValueError):
    """An object key would leave its store's sub-path, or is not a valid key at all."""


class ConfigError(ByobError, ValueError):
    """The configuration is invalid. `problems` holds every problem as (key, message)."""

    def __init__(self, problems: Sequence[tuple[str, str]], *, source: str = "") -> None:
        self.problems = [
            (key, secrets.redact_connection_strings(message)) for key, message in problems
        ]
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"{key}: {message}" if key else message for key, message in self.problems]
        if len(lines) == 1:
            text = f"invalid configuration{where}: {lines[0]}"
        else:
            text = f"invalid configuration{where} ({len(lines)} problems):\n  " + "\n  ".join(lines)
        super().__init__(text)

    def __reduce__(self) -> tuple[object, ...]:
        # args holds the rendered text, not the problems __init__ takes: rebuild from those.
        return (_config_error, (self.problems, self.source))


def _config_error(problems: Sequence[tuple[str, str]], source: str) -> ConfigError:
    return ConfigError(problems, source=source)


class UnknownTeamError(ByobError, LookupError):
    """A team name that the configuration does not know."""


class PluginError(ByobError, RuntimeError):
    """A plugin failed to load, conflicts with another, or broke the contract."""


class ProviderNotFoundError(ByobError, LookupError):
    """No loaded plugin owns the store's provider."""


class UnsupportedError(ByobError, NotImplementedError):
    """The provider cannot do what was asked (a file store cannot sign URLs, say)."""


class SigningError(ByobError, ValueError):
    """A signing request is invalid: a lifetime out of bounds, an unknown method."""


class StoreAccessError(ByobError, PermissionError):
    """The store refused access (credentials, permissions)."""


class ProvisionError(StoreAccessError):
    """A provisioning step failed. `plan` holds the changes made before it and the failed step.

    The plan is complete up to the failure: changes marked applied were made, the change
    named by ``plan.failed`` is the step that failed, and no later step ran.
    """

    def __init__(self, message: str, *, plan: Any, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        #: A `byob_core.plans.Plan` (not imported here: plans import this module's users).
        self.plan = plan


class GcError(ByobError, RuntimeError):
    """Garbage collection cannot start or cannot go on safely."""


class GcBusyError(GcError):
    """Another garbage collection holds the store's lock (exit 2); the message names it."""


class StoreChangedError(ByobError, PermissionError):
    """A team's configured store is not where the team was created: that calls for a migration."""


class VisibilityError(ByobError, PermissionError):
    """The visibility rule forbids the reading team to read the store it names."""
