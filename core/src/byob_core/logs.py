"""structlog, configured once: console or JSON lines on stderr, with secrets redacted."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from byob_core import secrets

_SECRET_NAMES = ("secret", "password", "token", "account_key", "private_key", "sas", "signature")
_configured = False


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: blank secret-looking fields and any registered secret value."""
    for name, value in list(event_dict.items()):
        lowered = name.lower()
        if any(word in lowered for word in _SECRET_NAMES) and value:
            event_dict[name] = secrets.REDACTED
        elif isinstance(value, str):
            event_dict[name] = secrets.redact(value)
        elif value is not None and not isinstance(value, int | float | bool):
            event_dict[name] = secrets.redact(str(value))
    return event_dict


def configure(
    *,
    json: bool | None = None,
    level: str | None = None,
    stream: TextIO | None = None,
    force: bool = False,
    only_if_unconfigured: bool = False,
) -> None:
    """Set structlog up once per process (``BYOB_LOG_FORMAT=json|console``, ``BYOB_LOG_LEVEL``).

    A library caller (``only_if_unconfigured=True``) leaves an application's own structlog
    set-up alone; the CLI configures it itself.
    """
    global _configured
    if _configured and not force:
        return
    if only_if_unconfigured and structlog.is_configured():
        return
    if json is None:
        json = os.environ.get("BYOB_LOG_FORMAT", "console").lower() == "json"
    level_name = (level or os.environ.get("BYOB_LOG_LEVEL", "warning")).upper()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level_name, logging.WARNING)
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True
