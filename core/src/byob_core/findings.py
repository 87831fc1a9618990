"""Validation results: one `Finding` per check, gathered in a `Report`."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from byob_core.stores import Store


class Status(enum.StrEnum):
    """Outcome of one check."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@attrs.frozen(kw_only=True)
class Finding:
    """The outcome of one check.

    `check` is a stable id (``aws.versioning``, ``core.probe.write``) that scripts may
    match on; `hint` says how to fix a warning or failure; `details` carries what the
    provider saw (documents, ids), JSON-serialisable and free of secrets.
    """

    check: str
    status: Status = attrs.field(converter=Status)
    message: str
    hint: str = ""
    details: Mapping[str, Any] = attrs.field(factory=dict)
    provider: str = ""

    @classmethod
    def passed(cls, check: str, message: str, **details: Any) -> Finding:
        return cls(check=check, status=Status.PASS, message=message, details=details)

    @classmethod
    def warned(cls, check: str, message: str, hint: str = "", **details: Any) -> Finding:
        return cls(check=check, status=Status.WARN, message=message, hint=hint, details=details)

    @classmethod
    def failed(cls, check: str, message: str, hint: str = "", **details: Any) -> Finding:
        return cls(check=check, status=Status.FAIL, message=message, hint=hint, details=details)

    @classmethod
    def skipped(cls, check: str, message: str, **details: Any) -> Finding:
        return cls(check=check, status=Status.SKIP, message=message, details=details)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "message": self.message,
            "hint": self.hint,
            "provider": self.provider,
            "details": dict(self.details),
        }


@attrs.frozen(kw_only=True)
class Report:
    """Every finding for one store; `ok` unless a finding failed."""

    store: Store
    findings: Sequence[Finding]
    team: str | None = None

    @property
    def ok(self) -> bool:
        return not any(f.status is Status.FAIL for f in self.findings)

    def by_check(self) -> dict[str, Finding]:
        return {f.check: f for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store.to_dict(),
            "team": self.team,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
        }
