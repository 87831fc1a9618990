"""structlog, configured once: console or JSON lines on stderr, with secrets redacted."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO
from urllib.parse import unquote

import structlog

from byob_core import secrets

_SECRET_NAMES = ("secret", "password", "token", "account_key", "private_key", "sas", "signature")
#: Environment variables that hold a secret outright.
_SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "MINIO_ROOT_PASSWORD",
    "MINIO_SECRET_KEY",
)
_configured = False


def register_environment_secrets(environ: Mapping[str, str] | None = None) -> None:
    """Register the secrets the environment holds, before anything can print them.

    Without this, a command that loads no configuration (``plugins``, say) knows no secret,
    and a plugin or SDK message quoting a key from ``GORILLA_SUPPORTED_FILE_STORES`` or
    ``AWS_SECRET_ACCESS_KEY`` would go out unredacted. The allow-list is split by hand, not
    parsed, so that a malformed entry still has its secret registered.
    """
    env = os.environ if environ is None else environ
    found = [env.get(name) for name in _SECRET_VARIABLES]
    for entry in env.get("GORILLA_SUPPORTED_FILE_STORES", "").split(","):
        _, _, rest = entry.strip().partition("://")
        userinfo = rest[: rest.rfind("@")] if "@" in rest else ""
        if ":" in userinfo:
            secret = userinfo.split(":", 1)[1]
            found += [secret, unquote(secret)]
    for part in env.get("AZURE_STORAGE_CONNECTION_STRING", "").split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() in ("accountkey", "sharedaccesssignature"):
            found.append(value)
    secrets.register(found)


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: blank secret-looking fields, any registered secret value, and
    the signature and session token of any signed URL."""
    for name, value in list(event_dict.items()):
        lowered = name.lower()
        if any(word in lowered for word in _SECRET_NAMES) and value:
            event_dict[name] = secrets.REDACTED
        elif isinstance(value, str):
            event_dict[name] = secrets.redact(secrets.redact_signed_url(value))
        elif value is not None and not isinstance(value, int | float | bool):
            event_dict[name] = secrets.redact(secrets.redact_signed_url(str(value)))
    return event_dict


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Look sys.stderr up per logger, not once at configuration: it may be replaced later
    # (pytest's capture, an application redirecting it), and the old stream may be closed.
    return structlog.PrintLogger(sys.stderr)


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
    register_environment_secrets()
    if _configured and not force:
        return
    if only_if_unconfigured and structlog.is_configured():
        return
    if json is None:
        json = os.environ.get("BYOB_LOG_FORMAT", "console").lower() == "json"
    level_name = (level or os.environ.get("BYOB_LOG_LEVEL", "warning")).upper()
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
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
        logger_factory=structlog.PrintLoggerFactory(stream)
        if stream is not None
        else _stderr_logger,
        cache_logger_on_first_use=False,
    )
    _configured = True
