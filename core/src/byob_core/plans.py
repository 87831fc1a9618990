"""Provisioning plans: named changes, each saying what exists now and what will change."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from byob_core.stores import Store


class Action(enum.StrEnum):
    """What a change does when applied."""

    NONE = "none"  # already as desired
    CREATE = "create"
    UPDATE = "update"
    MANUAL = "manual"  # cannot be applied with these credentials: a step for a person


@attrs.frozen(kw_only=True)
class Change:
    """One named change of a plan.

    `current` and `desired` describe the setting (JSON-serialisable); `documents` holds
    full provider documents (policies, CORS rules) by name; `steps` holds, for a manual
    change, the command lines or templates that make it.
    """

    name: str
    action: Action = attrs.field(converter=Action)
    summary: str
    current: Any = None
    desired: Any = None
    documents: Mapping[str, Any] = attrs.field(factory=dict)
    steps: Sequence[str] = ()
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action.value,
            "summary": self.summary,
            "current": self.current,
            "desired": self.desired,
            "documents": dict(self.documents),
            "steps": list(self.steps),
            "applied": self.applied,
        }


@attrs.frozen(kw_only=True)
class Plan:
    """Every change provisioning would make (or made) to one store."""

    store: Store
    changes: Sequence[Change]
    applied: bool = False
    team: str | None = None
    #: The name of the step that failed (its change says why); None when every step ran.
    failed: str | None = None

    @property
    def pending(self) -> list[Change]:
        """Changes that still need doing (by byob or by a person)."""
        return [c for c in self.changes if c.action is not Action.NONE and not c.applied]

    @property
    def has_changes(self) -> bool:
        return any(
            c.action in (Action.CREATE, Action.UPDATE) and not c.applied for c in self.changes
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store.to_dict(),
            "team": self.team,
            "applied": self.applied,
            "failed": self.failed,
            "changes": [c.to_dict() for c in self.changes],
        }
