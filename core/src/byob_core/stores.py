"""`Store`: one bucket (or Azure container) plus an optional sub-path, and its credentials."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from byob_core import secrets

#: The provider names byob knows of itself; plugins may add more.
PROVIDERS = ("aws", "gcp", "azure", "minio", "coreweave", "file")
#: Providers that speak the S3 API.
S3_PROVIDERS = ("aws", "minio", "coreweave")
#: The public fields of a store, as configuration tables and JSON name them.
STORE_FIELDS = (
    "scheme",
    "provider",
    "bucket",
    "subpath",
    "region",
    "endpoint",
    "tls",
    "path_style",
    "account",
    "container",
    "service_account",
    "kms_key_arn",
    "tenant_id",
    "client_id",
)
#: Key material: fields that hold (or are) keys. A store with any of them "carries keys".
KEY_FIELDS = (
    "access_key",
    "secret_key",
    "session_token",
    "account_key",
    "sas_token",
    "private_key",
    "client_secret",
)
#: Where an identity comes from without keys in the configuration: an AWS profile or role
#: (assumed from the store's keys, the profile or the ambient identity, or with a web
#: identity token), a GCP service account to impersonate, an Entra ID federated token file.
IDENTITY_FIELDS = (
    "profile",
    "role_arn",
    "external_id",
    "role_session_name",
    "role_duration",
    "web_identity_token_file",
    "impersonate_service_account",
    "federated_token_file",
)
#: Credential fields, as they are named in configuration tables. Changing only these is a
#: rotation (`team rotate`), never a migration.
CREDENTIAL_FIELDS = KEY_FIELDS + IDENTITY_FIELDS
_SECRET_FIELDS = (
    "secret_key",
    "session_token",
    "account_key",
    "sas_token",
    "private_key",
    "client_secret",
)


def _duration(value: object) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or not 900 <= int(text) <= 43200:
        raise ValueError(
            f"role_duration must be a number of seconds from 900 to 43200, not {value!r}"
        )
    return text


@attrs.frozen(kw_only=True, repr=False)
class Credentials:
    """Secrets of a store, and where its identity comes from. Its `repr` says which fields
    are set, never their values.

    No key fields mean "use the ambient cloud identity" (environment, profile, instance
    role, managed identity, application default credentials), possibly as the source of
    a role to assume or a service account to impersonate (`IDENTITY_FIELDS`).
    """

    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    account_key: str | None = None
    sas_token: str | None = None
    private_key: str | None = None
    #: Entra ID application secret (with the store's tenant_id and client_id).
    client_secret: str | None = None
    #: AWS shared-config profile whose credentials the store uses.
    profile: str | None = None
    #: AWS role to assume (refreshed before it expires), with its external id, session
    #: name and duration in seconds.
    role_arn: str | None = None
    external_id: str | None = None
    role_session_name: str | None = None
    role_duration: str | None = attrs.field(default=None, converter=_duration)
    #: An OIDC token file: AWS AssumeRoleWithWebIdentity (with role_arn) or the client
    #: assertion of an Entra ID workload identity (with tenant_id and client_id).
    web_identity_token_file: str | None = None
    federated_token_file: str | None = None
    #: GCP: the service account whose identity the store's credentials borrow.
    impersonate_service_account: str | None = None

    def __attrs_post_init__(self) -> None:
        # Only the secret parts: an access key id (or HMAC id) is an identifier that a
        # signed URL must carry (``X-Amz-Credential``), so redacting it breaks the URL.
        secrets.register(getattr(self, name) for name in _SECRET_FIELDS)

    def __bool__(self) -> bool:
        """Whether the store carries keys (identity fields alone do not count)."""
        return any(getattr(self, name) for name in KEY_FIELDS)

    def __repr__(self) -> str:
        given = [name for name in CREDENTIAL_FIELDS if getattr(self, name)]
        return f"Credentials({', '.join(f'{n}=***' for n in given)})"

    __str__ = __repr__

    def set_fields(self) -> tuple[str, ...]:
        """Names of the credential fields that hold a value."""
        return tuple(name for name in CREDENTIAL_FIELDS if getattr(self, name))

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Every value that must never be shown (tests scan output for these)."""
        return tuple(v for name in _SECRET_FIELDS if (v := getattr(self, name)))


NO_CREDENTIALS = Credentials()


def _optional_str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _subpath(value: object) -> str:
    return "" if value is None else str(value).strip("/")


class Extras(dict[str, str]):
    """Provider-specific store fields (`Store.extras`): a read-only, hashable mapping."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def _readonly(self, *_: Any, **__: Any) -> None:
        raise TypeError("Store.extras is read-only; use attrs.evolve(store, extras=...)")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly  # type: ignore[assignment]


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _extras(value: Mapping[str, Any] | None) -> Extras:
    return (
        value
        if isinstance(value, Extras)
        else Extras({str(k): str(v) for k, v in (value or {}).items()})
    )


@attrs.frozen(kw_only=True, repr=False)
class Store:
    """A bucket and sub-path at one provider: the unit every verb works on.

    >>> s = Store(provider="aws", bucket="acme-ml", subpath="wandb/", region="us-west-2")
    >>> s.subpath, s.native_url("wandb/runs/a.bin")  # native_url takes a full key
    ('wandb', 's3://acme-ml/wandb/runs/a.bin')
    """

    scheme: str = attrs.field(default="")
    provider: str = attrs.field()
    bucket: str = attrs.field()
    subpath: str = attrs.field(default="", converter=_subpath)
    region: str | None = attrs.field(default=None, converter=_optional_str)
    #: Host (and port) of the service, without the URL scheme; `tls` says which.
    endpoint: str | None = attrs.field(default=None, converter=_optional_str)
    tls: bool = True
    path_style: bool = False
    account: str | None = attrs.field(default=None, converter=_optional_str)
    container: str | None = attrs.field(default=None, converter=_optional_str)
    service_account: str | None = attrs.field(default=None, converter=_optional_str)
    kms_key_arn: str | None = attrs.field(default=None, converter=_optional_str)
    tenant_id: str | None = attrs.field(default=None, converter=_optional_str)
    client_id: str | None = attrs.field(default=None, converter=_optional_str)
    credentials: Credentials = attrs.field(default=NO_CREDENTIALS, eq=False)
    #: Provider-specific settings from configuration (lifecycle days, encryption, ...).
    options: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    #: Provider-specific fields of the store itself (an R2 account id, an FTP mode), from
    #: an ``extras`` table or a plugin scheme's query parameters. Those the provider names
    #: in ``ProviderSpec.secret_extras`` are secrets: registered for redaction, never shown.
    extras: Mapping[str, str] = attrs.field(factory=Extras, converter=_extras)
    #: The names among `extras` that are secrets (set by the core from the provider's spec).
    secret_extras: tuple[str, ...] = attrs.field(default=(), converter=_names, eq=False)

    @provider.validator
    def _check_provider(self, _: attrs.Attribute[str], value: str) -> None:
        if not value or not value.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"invalid provider name {value!r}")

    @bucket.validator
    def _check_bucket(self, _: attrs.Attribute[str], value: str) -> None:
        if not value:
            raise ValueError("a store needs a bucket (or Azure container, or file directory)")

    def __attrs_post_init__(self) -> None:
        secrets.register(self.extras.get(name) for name in self.secret_extras)
        if not self.scheme:
            object.__setattr__(self, "scheme", default_scheme(self.provider))
        if self.provider == "azure":
            if self.container is None:
                object.__setattr__(self, "container", self.bucket)
            elif self.container != self.bucket:
                raise ValueError("an Azure store's bucket and container must be the same")

    # -- presentation -------------------------------------------------------------------
    def __repr__(self) -> str:
        fields = [f"provider={self.provider!r}", f"bucket={self.bucket!r}"]
        for name in ("subpath", "region", "endpoint", "account"):
            value = getattr(self, name)
            if value:
                fields.append(f"{name}={value!r}")
        if self.extras:
            fields.append(f"extras={self.shown_extras()!r}")
        if self.credentials:
            fields.append("credentials=***")
        return f"Store({', '.join(fields)})"

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        """A short, secret-free name such as ``s3://acme-ml/wandb``."""
        root = self.bucket if self.provider != "azure" else f"{self.account}/{self.container}"
        if self.provider == "file":
            root = self.bucket.rstrip("/") or "/"
            return f"file://{root}" + (f"?subpath={self.subpath}" if self.subpath else "")
        if self.endpoint and self.provider in ("minio", "coreweave"):
            root = f"{self.endpoint}/{self.bucket}"
        return f"{self.scheme}://{root}" + (f"/{self.subpath}" if self.subpath else "")

    def to_dict(self) -> dict[str, Any]:
        """The store under its public field names, plus `has_credentials`; no secrets."""
        data: dict[str, Any] = {name: getattr(self, name) for name in STORE_FIELDS}
        data["extras"] = self.shown_extras()
        data["has_credentials"] = bool(self.credentials)
        data["credential_fields"] = list(self.credentials.set_fields())
        return data

    def shown_extras(self) -> dict[str, str]:
        """`extras` with the secret ones written as ``***``."""
        return {k: "***" if k in self.secret_extras else v for k, v in sorted(self.extras.items())}

    # -- addressing ---------------------------------------------------------------------
    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes two stores the same place: provider family, endpoint, bucket, sub-path."""
        family = "s3" if self.provider in S3_PROVIDERS else self.provider
        where = self.endpoint or self.account or ""
        return (family, where, self.bucket, self.subpath)

    @property
    def endpoint_url(self) -> str | None:
        """``http(s)://host[:port]`` of a custom endpoint, or None for the provider default."""
        if not self.endpoint:
            return None
        if "://" in self.endpoint:
            return self.endpoint
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    @property
    def prefix(self) -> str:
        """The key prefix of the store: ``"<subpath>/"``, or ``""`` without a sub-path."""
        return f"{self.subpath}/" if self.subpath else ""

    def fs_path(self, full_key: str = "") -> str:
        """The path of a full object key for the provider's fsspec filesystem."""
        root = self.bucket.rstrip("/") if self.provider == "file" else self.bucket
        return f"{root}/{full_key}" if full_key else root

    def native_url(self, full_key: str = "") -> str:
        """The provider's own URL of a full object key (``s3://bucket/sub/key``)."""
        if self.provider == "file":
            return "file://" + self.fs_path(full_key)
        if self.provider == "azure":
            return f"az://{self.container}/{full_key}".rstrip("/")
        return f"{self.scheme}://{self.bucket}/{full_key}".rstrip("/")


def default_scheme(provider: str) -> str:
    """The connection-string scheme of a provider."""
    return {
        "aws": "s3",
        "minio": "s3",
        "coreweave": "cw",
        "gcp": "gs",
        "azure": "az",
        "file": "file",
    }.get(provider, provider)
