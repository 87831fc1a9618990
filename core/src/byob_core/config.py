"""Configuration: one TOML file (``--config PATH``, else ``BYOB_CONFIG``) plus the environment.

```toml
deployment = "self-managed"          # or "dedicated", "saas"
cloud = "aws"                        # where the instance runs (default: its store's cloud)

[platform]                           # principals that get access (defaults by deployment)
aws_principal = "arn:aws:iam::123456789012:role/wandb"
gcp_service_account = "wandb@project.iam.gserviceaccount.com"

[instance]
store = "s3://acme-ml/wandb"

[teams.omega]                        # a team store: a connection string or a table
provider = "aws"
bucket = "omega-ml"
subpath = "wandb"
kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/..."
```

``GORILLA_SUPPORTED_FILE_STORES`` (comma-separated connection strings) is the
instance's allow-list of cross-cloud and S3-compatible stores. Every problem in a file
is reported at once, each with the key that holds it. With no configuration at all the
instance store is a ``file`` store under the local data directory (`data_dir`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from byob_core import keys, secrets, uris
from byob_core.errors import ByobError, ConfigError, UnsafeKeyError, UriError
from byob_core.stores import (
    CREDENTIAL_FIELDS,
    PROVIDERS,
    S3_PROVIDERS,
    STORE_FIELDS,
    Credentials,
    Store,
)

if TYPE_CHECKING:
    from byob_core.plugins import PluginHost

DEPLOYMENTS = ("self-managed", "dedicated", "saas")
CLOUDS = ("aws", "gcp", "azure")
#: The name that addresses the instance store where a team name is expected (byob://_instance/...).
INSTANCE = "_instance"
# \Z, not $: "$" also matches before a trailing newline, and "omega\n" is not a name.
_TEAM_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")

#: Platform principals by deployment (docs/configuration.md#deployments). A self-managed instance names its own.
DEFAULT_PRINCIPALS: Mapping[str, Mapping[str, str]] = {
    "saas": {
        "aws_principal": "arn:aws:iam::725579432336:role/WandbIntegration",
        "gcp_service_account": "wandb-integration@wandb-production.iam.gserviceaccount.com",
    },
    "dedicated": {
        "aws_principal": "arn:aws:iam::830241207209:root",
        "gcp_service_account": "deploy@wandb-production.iam.gserviceaccount.com",
    },
    "self-managed": {},
}
_PLATFORM_FIELDS = ("aws_principal", "gcp_service_account", "azure_oidc_issuer")
_TOP_FIELDS = ("deployment", "cloud", "data_dir", "platform", "instance", "teams", "organization")


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where byob keeps local state: ``BYOB_DATA_DIR``, else ``$XDG_DATA_HOME/byob``,
    else ``~/.local/share/byob``. The embedded default store lives in its ``store`` folder."""
    env = os.environ if environ is None else environ
    if env.get("BYOB_DATA_DIR"):
        return Path(env["BYOB_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "byob"


@attrs.frozen(kw_only=True)
class Principals:
    """Who the platform is at each cloud: the identity that provisioning grants access to."""

    aws_principal: str | None = None
    gcp_service_account: str | None = None
    azure_oidc_issuer: str | None = None

    def for_provider(self, provider: str) -> str | None:
        # By family, so that a plugin's S3-compatible provider gets the AWS principal too.
        family = "aws" if provider in S3_PROVIDERS else family_of(provider)
        if family in ("aws", "s3-compatible"):
            return self.aws_principal
        if family == "gcp":
            return self.gcp_service_account
        if family == "azure":
            return self.azure_oidc_issuer
        return None


@attrs.frozen(kw_only=True)
class Resolution:
    """Which store serves a team: `scope` is ``"team"`` or ``"instance"``."""

    team: str | None
    scope: str
    store: Store


@attrs.frozen(kw_only=True)
class Config:
    """A loaded, checked configuration."""

    deployment: str = "self-managed"
    cloud: str | None = None
    instance: Store | None
    teams: Mapping[str, Store] = attrs.field(factory=dict)
    principals: Principals = Principals()
    allow_list: tuple[Store, ...] = ()
    warnings: tuple[str, ...] = ()
    source: Path | None = None
    data_dir: Path
    #: Whether the organisation lets any team read the instance store (the visibility rule).
    instance_readable_by_teams: bool = True

    def resolve(self, team: str | None = None) -> Resolution:
        """Team over instance: a team's own store if it has one, else the instance store.

        >>> cfg = load(environ={"BYOB_DATA_DIR": "/tmp/byob-doc"})
        >>> cfg.resolve("kappa").scope
        'instance'
        """
        if team is not None and team != INSTANCE:
            check_team_name(team)
            store = self.teams.get(team)
            if store is not None:
                return Resolution(team=team, scope="team", store=store)
        if self.instance is None:
            raise ConfigError(
                [
                    (
                        "instance",
                        f"no instance store on a {self.deployment!r} deployment, and team "
                        f"{team!r} has no team store",
                    )
                ],
                source=str(self.source or ""),
            )
        return Resolution(
            team=None if team == INSTANCE else team, scope="instance", store=self.instance
        )

    def can_read(self, reader: str | None, writer: str | None) -> bool:
        """The visibility rule (docs/concepts.md#the-visibility-rule): may team `reader` read what team `writer` wrote?

        A team store's objects are readable by that team only; the instance store's by any
        team the organisation allows.
        """
        where = self.resolve(writer)
        if where.scope == "team":
            return reader == writer
        return self.instance_readable_by_teams or reader == writer

    def stores(self) -> dict[str, Store]:
        """Every configured store by its config key (``instance``, ``teams.<name>``)."""
        found: dict[str, Store] = {}
        if self.instance is not None:
            found["instance"] = self.instance
        for name, store in self.teams.items():
            found[f"teams.{name}"] = store
        return found

    def sharing(self, store: Store) -> list[str]:
        """Config keys of the other stores that share `store`'s bucket and sub-path."""
        return [
            k for k, s in self.stores().items() if s.identity == store.identity and s is not store
        ]


def check_team_name(team: str) -> str:
    if not _TEAM_NAME.match(team):
        raise ConfigError(
            [
                (
                    "team",
                    f"invalid team name {team!r}: use letters, digits, '_', '.', '-', "
                    "starting with a letter or digit",
                )
            ]
        )
    return team


def config_path(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Path:
    """The file `team create` writes to: `path`, else ``BYOB_CONFIG``, else ``<data_dir>/config.toml``."""
    env = os.environ if environ is None else environ
    return _find_path(path, env) or data_dir(env) / "config.toml"


def _find_path(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if environ.get("BYOB_CONFIG"):
        return Path(environ["BYOB_CONFIG"])
    default = data_dir(environ) / "config.toml"
    return default if default.is_file() else None


#: A configuration file larger than this is refused (``--config /dev/zero`` must not hang).
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def read_config_text(source: Path) -> str:
    """The text of a configuration file: UTF-8, a regular file, at most `MAX_CONFIG_BYTES`.

    Every problem is a `ConfigError` naming the file (exit 2), never a traceback.
    """
    try:
        if source.is_dir():
            raise IsADirectoryError(21, "it is a directory")
        with open(source, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([("", f"configuration file {source} does not exist")]) from None
    except OSError as exc:
        raise ConfigError(
            [("", f"cannot read configuration file {source}: {exc.strerror or exc}")]
        ) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [("", f"configuration file {source} is larger than {MAX_CONFIG_BYTES >> 20} MiB")],
            source=str(source),
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [("", f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}")],
            source=str(source),
        ) from None


def load(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Load the configuration from `path`, else ``BYOB_CONFIG``, else ``<data_dir>/config.toml``
    when it exists, else the embedded default (a file store in ``<data_dir>/store``)."""
    env = os.environ if environ is None else environ
    source = _find_path(path, env)
    if source is None:
        return from_mapping({}, environ=env)
    text = read_config_text(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [("", f"not valid TOML: {secrets.redact(str(exc))}")], source=str(source)
        ) from None
    return from_mapping(data, environ=env, source=source)


def from_mapping(
    data: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> Config:
    """Build and check a `Config` from parsed TOML; every problem is reported at once."""
    env = os.environ if environ is None else environ
    problems: list[tuple[str, str]] = []
    warnings: list[str] = []

    for key in data:
        if key not in _TOP_FIELDS:
            problems.append((key, f"unknown setting; known: {', '.join(_TOP_FIELDS)}"))

    deployment = str(data.get("deployment", "self-managed"))
    if deployment not in DEPLOYMENTS:
        problems.append(
            ("deployment", f"must be one of {', '.join(DEPLOYMENTS)}, not {deployment!r}")
        )
        deployment = "self-managed"

    base_dir = Path(str(data["data_dir"])).expanduser() if "data_dir" in data else data_dir(env)

    principals = _principals(data.get("platform", {}), deployment, problems)

    allow_list: list[Store] = []
    raw_allow = env.get("GORILLA_SUPPORTED_FILE_STORES", "")
    for index, item in enumerate(s for s in raw_allow.split(",") if s.strip()):
        try:
            allow_list.append(uris.parse(item.strip(), environ=env))
        except UriError as exc:
            problems.append((f"GORILLA_SUPPORTED_FILE_STORES[{index}]", str(exc)))

    instance: Store | None
    if "instance" in data:
        instance = _store(data["instance"], "instance", env, problems)
    elif deployment == "saas":
        instance = None
    else:
        instance = Store(provider="file", bucket=str(base_dir / "store"))

    cloud = data.get("cloud")
    if cloud is not None and cloud not in CLOUDS:
        problems.append(("cloud", f"must be one of {', '.join(CLOUDS)}, not {cloud!r}"))
        cloud = None
    if cloud is None and instance is not None and family_of(instance.provider) in CLOUDS:
        cloud = family_of(instance.provider)
    if deployment == "saas":
        cloud = "gcp"  # the multi-tenant SaaS runs on GCP (docs/configuration.md#deployments)

    teams: dict[str, Store] = {}
    raw_teams = data.get("teams", {})
    if not isinstance(raw_teams, Mapping):
        problems.append(("teams", "must be a table of [teams.<name>] tables"))
        raw_teams = {}
    for name, raw in raw_teams.items():
        key = f"teams.{name}"
        if not _TEAM_NAME.match(name):
            problems.append(
                (
                    key,
                    "invalid team name: use letters, digits, '_', '.', '-', starting "
                    f"with a letter or digit (names starting with '_' are reserved, such as {INSTANCE!r})",
                )
            )
            continue
        if isinstance(raw, Mapping) and not raw:
            continue  # a team listed without a store uses the instance store
        store = _store(raw, key, env, problems)
        if store is None:
            continue
        store = _check_allow_list(store, key, deployment, cloud, allow_list, problems)
        teams[name] = store

    if instance is not None:
        _check_deployment_instance(instance, deployment, problems)
    for name, store in teams.items():
        _check_deployment_team(store, f"teams.{name}", deployment, problems)

    # Stores that share bucket and sub-path see each other's objects.
    seen: dict[tuple[str, str, str, str], str] = {}
    everything = ([("instance", instance)] if instance else []) + [
        (f"teams.{n}", s) for n, s in teams.items()
    ]
    for key, store in everything:
        other = seen.get(store.identity)
        if other is not None:
            warnings.append(
                f"{key} and {other} share bucket {store.bucket!r} and sub-path "
                f"{store.subpath or '(none)'!r}: they see each other's objects; give each a distinct sub-path"
            )
        else:
            seen[store.identity] = key

    readable = _organization(data.get("organization", {}), problems)
    if problems:
        raise ConfigError(problems, source=str(source or ""))
    return Config(
        deployment=deployment,
        cloud=cloud,
        instance=instance,
        teams=teams,
        principals=principals,
        allow_list=tuple(allow_list),
        warnings=tuple(warnings),
        source=source,
        data_dir=base_dir,
        instance_readable_by_teams=readable,
    )


def _organization(raw: Any, problems: list[tuple[str, str]]) -> bool:
    """Whether teams may read the instance store. Checked strictly: a typo or a string such
    as "no" must not silently leave the instance store readable by every team."""
    if not isinstance(raw, Mapping):
        problems.append(("organization", "must be a table"))
        return True
    for name in raw:
        if name != "instance_readable_by_teams":
            problems.append(
                (f"organization.{name}", "unknown setting; known: instance_readable_by_teams")
            )
    value = raw.get("instance_readable_by_teams", True)
    if not isinstance(value, bool):
        problems.append(
            ("organization.instance_readable_by_teams", f"must be true or false, not {value!r}")
        )
        return True
    return value


def _principals(raw: Any, deployment: str, problems: list[tuple[str, str]]) -> Principals:
    if not isinstance(raw, Mapping):
        problems.append(("platform", "must be a table"))
        raw = {}
    values = dict(DEFAULT_PRINCIPALS[deployment])
    for name, value in raw.items():
        if name not in _PLATFORM_FIELDS:
            problems.append(
                (f"platform.{name}", f"unknown setting; known: {', '.join(_PLATFORM_FIELDS)}")
            )
            continue
        values[name] = str(value)
    return Principals(**values)


def store_from_table(raw: Mapping[str, Any], *, environ: Mapping[str, str] | None = None) -> Store:
    """Build a `Store` from a configuration table (field names as in `STORE_FIELDS`)."""
    problems: list[tuple[str, str]] = []
    store = _store(raw, "", os.environ if environ is None else environ, problems)
    if problems or store is None:
        raise ConfigError(problems)
    return store


def _store(
    raw: Any, key: str, env: Mapping[str, str], problems: list[tuple[str, str]]
) -> Store | None:
    """One store from its TOML value: a connection string, a table with `store = "..."`
    (the string plus credentials/options/extras), or a table of fields."""
    if isinstance(raw, str):
        raw = {"store": raw}
    if not isinstance(raw, Mapping):
        problems.append((key, 'must be a table, or a table with store = "<connection string>"'))
        return None
    if _mistyped(raw, key, problems):
        return None
    if "options" in raw:
        from byob_core import retries

        bad = [(_at(key, name), message) for name, message in retries.check_options(raw["options"])]
        if bad:
            problems.extend(bad)
            return None
    if "store" in raw:
        return _store_from_string(raw, key, env, problems)
    return _store_from_fields(raw, key, env, problems)


def _at(key: str, field: str) -> str:
    return f"{key}.{field}" if key else field


def _mistyped(raw: Mapping[str, Any], key: str, problems: list[tuple[str, str]]) -> bool:
    """Whether a field has the wrong TOML type (each one reported).

    Wrong TOML types are problems to report, not crashes (bucket = 5 failed an assert,
    options = "x" raised from dict()); a number is not silently turned into a secret."""
    mistyped = False
    for field, value in raw.items():
        if field == "options":
            if not isinstance(value, Mapping):
                problems.append((_at(key, field), "must be a table ([<store>.options])"))
                mistyped = True
        elif field == "extras":
            if not isinstance(value, Mapping) or not all(
                isinstance(v, str | int | float | bool) for v in value.values()
            ):
                problems.append(
                    (
                        _at(key, field),
                        "must be a table of provider fields ([<store>.extras]) with plain values",
                    )
                )
                mistyped = True
        elif field not in ("tls", "path_style", "role_duration") and not isinstance(value, str):
            problems.append(
                (_at(key, field), f"must be a string (in quotes), not {type(value).__name__}")
            )
            mistyped = True
    return mistyped


#: The fields a table with `store = "..."` may add to its connection string.
_WITH_STORE_STRING = frozenset(
    {"store", "options", "extras", *CREDENTIAL_FIELDS, "kms_key_arn", "tenant_id", "client_id"}
)


def _store_from_string(
    raw: Mapping[str, Any], key: str, env: Mapping[str, str], problems: list[tuple[str, str]]
) -> Store | None:
    """A table with `store = "<connection string>"` plus the fields it may add."""
    extra = set(raw) - _WITH_STORE_STRING
    if extra:
        problems.append(
            (
                _at(key, sorted(extra)[0]),
                'cannot be combined with store = "..."; '
                "put it in the connection string or use a table without 'store'",
            )
        )
    try:
        store = uris.parse(str(raw["store"]), environ=env, complete=False)
    except UriError as exc:
        problems.append((_at(key, "store"), str(exc)))
        return None
    try:
        creds = _credentials(raw)
    except ValueError as exc:
        problems.append((_at(key, "role_duration"), str(exc)))
        return None
    changes: dict[str, Any] = {
        k: raw[k] for k in ("kms_key_arn", "tenant_id", "client_id") if k in raw
    }
    if creds:
        changes["credentials"] = creds
    if "options" in raw:
        changes["options"] = dict(raw["options"])
    if "extras" in raw:
        # Fields of the table win over the connection string's query parameters.
        changes["extras"] = {**store.extras, **_extras(raw["extras"])}
    # Completed once, with everything the table adds.
    return _complete(attrs.evolve(store, **changes) if changes else store, key, problems)


def _store_from_fields(
    raw: Mapping[str, Any], key: str, env: Mapping[str, str], problems: list[tuple[str, str]]
) -> Store | None:
    """A table of fields: the common rules, then the provider family's own."""
    before = len(problems)
    _unknown_fields(raw, key, problems)
    provider = raw.get("provider")
    if provider is None:
        problems.append((_at(key, "provider"), f"missing; one of {', '.join(PROVIDERS)}"))
    elif not isinstance(provider, str) or not provider:
        problems.append((_at(key, "provider"), "must be a provider name such as 'aws'"))
    bucket = _bucket_fields(raw, key, provider, problems)
    for flag in ("tls", "path_style"):
        if flag in raw and not isinstance(raw[flag], bool):
            problems.append((_at(key, flag), f"must be true or false, not {raw[flag]!r}"))
    subpath = str(raw.get("subpath", "") or "")
    try:
        subpath = keys.check_subpath(subpath)
    except UnsafeKeyError as exc:
        problems.append((_at(key, "subpath"), str(exc)))
    endpoint, tls = _endpoint_fields(raw)
    region = _region_fields(raw, key, provider, endpoint, env, problems)
    if len(problems) > before:
        return None
    assert isinstance(provider, str) and isinstance(bucket, str)
    path_style = raw.get("path_style")
    if path_style is None:
        path_style = provider == "minio"
    try:
        store = Store(
            scheme=str(raw.get("scheme", "")),
            provider=provider,
            bucket=str(raw.get("container") or bucket) if provider == "azure" else bucket,
            subpath=subpath,
            region=region,
            endpoint=endpoint,
            tls=(provider != "minio") if tls is None else bool(tls),
            path_style=bool(path_style),
            account=raw.get("account"),
            container=raw.get("container") or (bucket if provider == "azure" else None),
            service_account=raw.get("service_account"),
            kms_key_arn=raw.get("kms_key_arn"),
            tenant_id=raw.get("tenant_id"),
            client_id=raw.get("client_id"),
            credentials=_credentials(raw),
            options=dict(raw.get("options", {})),
            extras=_extras(raw.get("extras", {})),
        )
    except (ValueError, TypeError) as exc:
        problems.append((key, secrets.redact(str(exc))))
        return None
    return _complete(store, key, problems)


def _unknown_fields(raw: Mapping[str, Any], key: str, problems: list[tuple[str, str]]) -> None:
    for field in raw:
        if (
            field not in STORE_FIELDS
            and field not in CREDENTIAL_FIELDS
            and field not in ("options", "location", "extras")
        ):
            problems.append(
                (
                    _at(key, field),
                    f"unknown field; known fields: {', '.join(STORE_FIELDS)}, "
                    f"credentials ({', '.join(CREDENTIAL_FIELDS)}) and options",
                )
            )


def _bucket_fields(
    raw: Mapping[str, Any], key: str, provider: Any, problems: list[tuple[str, str]]
) -> Any:
    """The bucket (Azure: the container, or bucket, and the account it lives in)."""
    bucket = raw.get("bucket") or (raw.get("container") if provider == "azure" else None)
    if not bucket:
        what = "container (or bucket)" if provider == "azure" else "bucket"
        problems.append(
            (
                _at(key, "bucket" if provider != "azure" else "container"),
                f"missing; the {what} of the store",
            )
        )
    if provider == "azure" and not raw.get("account"):
        problems.append((_at(key, "account"), "missing; the Azure storage account name"))
    return bucket


def _endpoint_fields(raw: Mapping[str, Any]) -> tuple[Any, Any]:
    """The endpoint without its scheme, and tls (from that scheme unless set)."""
    endpoint = raw.get("endpoint")
    tls = raw.get("tls")
    if isinstance(endpoint, str) and "://" in endpoint:
        proto, endpoint = endpoint.split("://", 1)
        endpoint = endpoint.rstrip("/")
        if tls is None:
            tls = proto.lower() == "https"
    return endpoint, tls


def _region_fields(
    raw: Mapping[str, Any],
    key: str,
    provider: Any,
    endpoint: Any,
    env: Mapping[str, str],
    problems: list[tuple[str, str]],
) -> Any:
    """The region (AWS: from the endpoint's host; S3-compatible: required, with the
    endpoint)."""
    region = raw.get("region") or raw.get("location")
    if provider == "aws" and region is None and isinstance(endpoint, str):
        region = uris.aws_region_of_host(endpoint)
    if provider in ("minio",) and not region:
        region = env.get("AWS_REGION")
        if not region:
            problems.append(
                (
                    _at(key, "region"),
                    "missing; S3-compatible stores need a region (for example 'us-east-1')",
                )
            )
    if provider in ("minio",) and not endpoint:
        problems.append(
            (
                _at(key, "endpoint"),
                "missing; S3-compatible stores need an endpoint such as 'http://minio:9000'",
            )
        )
    return region


def _extras(raw: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(k): ("true" if v is True else "false" if v is False else str(v)) for k, v in raw.items()
    }


def _host_for(provider: str) -> PluginHost:
    """The core alone for the providers it knows by name (no plugin is imported for them),
    else the installed plugins."""
    from byob_core.plugins import PluginHost

    return PluginHost.shared(entry_points=provider not in PROVIDERS)


def _complete(store: Store, key: str, problems: list[tuple[str, str]]) -> Store | None:
    """The store completed once by its provider's `byob_complete_store`."""
    try:
        return _host_for(store.provider).complete_store(store)
    except ConfigError as exc:
        problems.extend((f"{key}.{k}" if key and k else key or k, m) for k, m in exc.problems)
    except (ByobError, ValueError, TypeError) as exc:
        problems.append((key, secrets.redact(str(exc))))
    return None


#: The deployment-matrix family of each provider the core knows by name (their plugins'
#: `ProviderSpec.family` says the same; a test holds them to it).
BUILTIN_FAMILIES: Mapping[str, str] = {
    "aws": "aws",
    "gcp": "gcp",
    "azure": "azure",
    "minio": "s3-compatible",
    "coreweave": "s3-compatible",
    "file": "other",
}


def family_of(provider: str) -> str | None:
    """The family of `provider` (``aws``, ``gcp``, ``azure``, ``s3-compatible``, ``other``),
    from its plugin's `ProviderSpec`; None when no installed plugin provides it."""
    if provider in BUILTIN_FAMILIES:
        return BUILTIN_FAMILIES[provider]
    spec = _host_for(provider).providers().get(provider)
    return spec.family if spec is not None else None


def _credentials(raw: Mapping[str, Any]) -> Credentials:
    return Credentials(
        **{name: str(raw[name]) for name in CREDENTIAL_FIELDS if raw.get(name) not in (None, "")}
    )


def _needs_allow_list(store: Store, deployment: str, cloud: str | None) -> bool:
    family = family_of(store.provider)
    if family == "s3-compatible":
        return True
    if family in CLOUDS:
        if deployment == "saas":
            return False  # SaaS connects team buckets by role, not by listed access keys
        return family != cloud
    return False


def _check_allow_list(
    store: Store,
    key: str,
    deployment: str,
    cloud: str | None,
    allow_list: list[Store],
    problems: list[tuple[str, str]],
) -> Store:
    if not _needs_allow_list(store, deployment, cloud):
        return store
    family, where, bucket, subpath = store.identity
    for entry in allow_list:
        e_family, e_where, e_bucket, e_subpath = entry.identity
        if (e_family, e_bucket) != (family, bucket):
            continue
        if e_where and where and e_where != where:
            continue
        if e_subpath and e_subpath != subpath:
            continue
        if store.credentials or not entry.credentials:
            return store
        # The team names the bucket; the instance's allow-list entry holds its keys.
        return attrs.evolve(
            store,
            credentials=entry.credentials,
            endpoint=store.endpoint or entry.endpoint,
            region=store.region or entry.region,
            service_account=store.service_account or entry.service_account,
        )
    kind = "an S3-compatible" if family_of(store.provider) == "s3-compatible" else "a cross-cloud"
    problems.append(
        (
            key,
            f"{kind} store ({store.display}) must be listed in GORILLA_SUPPORTED_FILE_STORES on "
            f"this instance (cloud: {cloud or 'none'}); add its connection string there",
        )
    )
    return store


def _family_problem(store: Store, key: str, problems: list[tuple[str, str]]) -> str | None:
    family = family_of(store.provider)
    if family is None:
        problems.append(
            (
                key,
                f"no installed plugin provides {store.provider!r} stores, so the deployment "
                f"matrix cannot place it; install the plugin (for example byob-{store.provider})",
            )
        )
    return family


def _check_deployment_instance(
    store: Store, deployment: str, problems: list[tuple[str, str]]
) -> None:
    if deployment == "saas":
        problems.append(
            (
                "instance",
                "deployment 'saas' has no instance store (availability matrix, "
                "SaaS row: instance store not applicable); remove [instance]",
            )
        )
        return
    family = _family_problem(store, "instance", problems)
    if deployment == "dedicated" and family is not None and family not in CLOUDS:
        problems.append(
            (
                "instance",
                f"deployment 'dedicated' keeps its instance store on AWS, GCP or "
                f"Azure (availability matrix, dedicated row), not {store.provider!r} "
                f"(family {family})",
            )
        )


def _check_deployment_team(
    store: Store, key: str, deployment: str, problems: list[tuple[str, str]]
) -> None:
    family = _family_problem(store, key, problems)
    if family is None:
        return
    if deployment == "saas":
        if family == "azure":
            problems.append(
                (
                    key,
                    "deployment 'saas' cannot use Azure team stores (availability matrix, "
                    "SaaS row: Azure storage is fully managed by the platform)",
                )
            )
        elif family == "s3-compatible":
            problems.append(
                (
                    key,
                    f"deployment 'saas' cannot use S3-compatible team stores such as "
                    f"{store.provider!r} (availability matrix, SaaS row: no S3-compatible stores)",
                )
            )
        elif family not in ("aws", "gcp"):
            problems.append(
                (
                    key,
                    f"deployment 'saas' offers team stores on AWS and GCP only "
                    f"(availability matrix, SaaS row), not {store.provider!r} (family {family})",
                )
            )
        elif family == "aws" and store.credentials:
            problems.append(
                (
                    key,
                    "deployment 'saas' connects AWS team buckets by role, not by access "
                    "keys (availability matrix, SaaS row); remove the keys and grant the "
                    "platform role in the bucket policy",
                )
            )
    elif deployment == "dedicated" and family == "other":
        problems.append(
            (
                key,
                f"deployment 'dedicated' cannot use a {store.provider!r} team store (family "
                "other: availability matrix, dedicated row: team stores are AWS, GCP or Azure "
                "buckets, or S3-compatible stores)",
            )
        )
