"""Connection strings (docs/connection-strings.md): parse them into a `Store`, format a `Store` back.

Forms::

    s3://<accessKey>:<secretKey>@<endpoint>/<bucket>[/<subpath>]?region=<r>&tls=true
    s3://<accessKey>:<secretKey>@s3.<region>.amazonaws.com/<bucket>[/<subpath>]
    s3://<bucket>[/<subpath>][?region=<r>]            (AWS, ambient identity)
    az://:<urlEncodedAccountKey>@<account>/<container>[/<subpath>]
    gs://<serviceAccountEmail>:<urlEncodedPrivateKey>@<bucket>[/<subpath>]
    gs://<hmacAccessId>:<hmacSecret>@<bucket>[/<subpath>]
    cw://<accessKey>:<secretKey>@cwobject.com/<bucket>[/<subpath>]?tls=true
    file:///path/to/dir[?subpath=<subpath>]

The older ``?region=<r>?tls=true`` spelling (a second ``?``) is accepted. Errors name
the faulty part and never contain a secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from byob_core import hookimpl, secrets
from byob_core.errors import UnsafeKeyError, UriError
from byob_core.keys import check_subpath
from byob_core.stores import Credentials, Store

if TYPE_CHECKING:
    from byob_core.plugins import PluginHost

#: The schemes the core parses itself (its `byob_parse_uri`); plugins declare more.
SCHEMES = ("s3", "az", "gs", "cw", "file")
#: The providers whose stores the core formats itself (its `byob_format_uri`).
BUILTIN_PROVIDERS = ("aws", "minio", "coreweave", "gcp", "azure", "file")

_AWS_HOST = re.compile(
    r"^(?:[a-z0-9.-]+\.)?s3(?:[.-](?:dualstack\.)?(?P<region>[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d))?"
    r"\.amazonaws\.com(?:\.cn)?(?::443)?$"
)
_QUERY_KEYS = {
    "region": "region",
    "tls": "tls",
    "forcepathstyle": "path_style",
    "path_style": "path_style",
    "pathstyle": "path_style",
    "endpoint": "endpoint",
    "subpath": "subpath",
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def aws_region_of_host(host: str) -> str | None:
    """The region an AWS S3 host names; ``us-east-1`` for the global endpoint.

    Returns None when `host` is not an AWS S3 host.

    >>> aws_region_of_host("s3.eu-west-1.amazonaws.com"), aws_region_of_host("s3.amazonaws.com")
    ('eu-west-1', 'us-east-1')
    """
    match = _AWS_HOST.match(host.lower())
    if match is None:
        return None
    return match.group("region") or "us-east-1"


def _split(uri: str) -> tuple[str, str, str, str]:
    """Split into scheme, raw user info (or ''), the host-and-path part, and the raw query."""
    if not isinstance(uri, str) or "://" not in uri:
        raise UriError(
            "connection string has no scheme",
            hint=f"start it with one of {', '.join(s + '://' for s in SCHEMES)}",
        )
    scheme, rest = uri.split("://", 1)
    scheme = scheme.lower()
    userinfo = ""
    # The last '@' ends the user info, so that a secret written with a raw '/' or '@'
    # still parses. But user info always has a ':'; text before the '@' with a '/' and
    # no ':' is a path that contains an '@' (s3://bucket/users/a@b.com), not user info.
    at = rest.rfind("@")
    if at >= 0 and not ("/" in rest[:at] and ":" not in rest[:at]):
        userinfo, rest = rest[:at], rest[at + 1 :]
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
    return scheme, userinfo, rest, query


def _parse_query(query: str, scheme: str) -> dict[str, str]:
    # The documented older form separates parameters with a second '?'.
    options: dict[str, str] = {}
    for item in re.split(r"[?&]", query):
        if not item:
            continue
        name, sep, value = item.partition("=")
        field = _QUERY_KEYS.get(name.lower())
        if field is None:
            raise UriError(
                f"unknown query parameter {name!r} in a {scheme}:// connection string",
                hint="known parameters: region, tls, forcePathStyle, endpoint, subpath",
            )
        if not sep or not value:
            raise UriError(f"query parameter {name!r} has no value", hint=f"write {name}=<value>")
        options[field] = unquote(value)
    return options


def _bool(options: Mapping[str, str], name: str, default: bool) -> bool:
    if name not in options:
        return default
    value = options[name].lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UriError(f"parameter {name!r} must be true or false, not {options[name]!r}")


def _userinfo(raw: str, scheme: str) -> tuple[str, str]:
    if not raw:
        return "", ""
    if ":" not in raw:
        raise UriError(
            f"the user-info part of the {scheme}:// connection string has no ':'",
            hint="write <user>:<url-encoded secret>@ before the host; URL-encode ':' and '@' in the secret",
        )
    user, secret = raw.split(":", 1)
    return unquote(user), unquote(secret)


def _host_and_path(rest: str, scheme: str, what: str) -> tuple[str, list[str]]:
    parts = rest.split("/")
    host = parts[0]
    if not host:
        raise UriError(
            f"the {scheme}:// connection string has no {what}",
            hint=f"write {scheme}://.../<{what}>",
        )
    return host, [p for p in parts[1:]]


def _subpath_of(segments: list[str], scheme: str, *, decoded: bool = False) -> str:
    sub = "/".join(segments).strip("/")
    try:
        return check_subpath(sub if decoded else unquote(sub)) if sub else ""
    except UnsafeKeyError as exc:
        raise UriError(f"bad sub-path in the {scheme}:// connection string: {exc}") from None


def scheme_of(uri: str) -> str:
    """The lower-cased scheme of a connection string (`UriError` when it has none)."""
    return _split(uri)[0]


def parse(
    uri: str,
    *,
    environ: Mapping[str, str] | None = None,
    host: PluginHost | None = None,
    complete: bool = True,
) -> Store:
    """Parse a connection string into a `Store`, through the `byob_parse_uri` hook.

    `environ` supplies ``AWS_REGION`` for the region rule of S3-compatible stores
    (defaults to the process environment). `host` (default: the installed plugins, or
    the core alone for the built-in schemes, so that ``parse s3://...`` imports no
    plugin) decides which schemes exist. The store is completed by its provider's
    `byob_complete_store` unless `complete` is False (the configuration completes a store
    once, after it has added the table's fields).

    >>> parse("s3://AKIA:c2Vj%2Fcm%2Bt@minio.local:9000/ml/wandb?region=us-east-1?tls=true").endpoint
    'minio.local:9000'
    """
    from byob_core.plugins import PluginHost

    environ = os.environ if environ is None else environ
    if host is None:
        host = PluginHost.shared(entry_points=scheme_of(uri) not in SCHEMES)
    return host.parse_uri(uri, environ=environ, complete=complete)


@hookimpl(trylast=True)
def byob_parse_uri(uri: str, scheme: str, environ: Mapping[str, str]) -> Store | None:
    """The core's parsers: the built-in schemes (`SCHEMES`); None for any other."""
    if scheme not in SCHEMES:
        return None
    return _parse_builtin(uri, environ)


@hookimpl(trylast=True)
def byob_format_uri(store: Store, redact: bool) -> str | None:
    """The core's formatter for the built-in providers; None for any other."""
    if store.provider not in BUILTIN_PROVIDERS:
        return None
    return _format_builtin(store, redact=redact)


def _parse_builtin(uri: str, environ: Mapping[str, str]) -> Store:
    scheme, raw_user, rest, query = _split(uri)
    try:
        user, secret = _userinfo(raw_user, scheme)
        if secret:
            secrets.register([secret])
        options = _parse_query(query, scheme)
        if scheme in ("s3", "cw"):
            store = _parse_s3(scheme, raw_user, user, secret, rest, options, environ)
        elif scheme == "az":
            store = _parse_az(user, secret, rest, options)
        elif scheme == "gs":
            store = _parse_gs(user, secret, rest, options)
        elif scheme == "file":
            store = _parse_file(raw_user, rest, options)
        else:
            raise UriError(
                f"unknown connection-string scheme {scheme!r}",
                hint=f"use one of {', '.join(s + '://' for s in SCHEMES)}",
            )
    except UriError as exc:
        # Belt and braces: a message built from the input must not carry its secret.
        raise UriError(secrets.redact(str(exc.args[0])), hint=exc.hint) from None
    except ValueError as exc:
        raise UriError(secrets.redact(str(exc))) from None
    return store


def _parse_s3(
    scheme: str,
    raw_user: str,
    user: str,
    secret: str,
    rest: str,
    options: dict[str, str],
    environ: Mapping[str, str],
) -> Store:
    creds = Credentials(access_key=user or None, secret_key=secret or None)
    if raw_user and bool(user) != bool(secret):
        raise UriError(
            f"the {scheme}:// connection string has an access key without a secret key (or the reverse)",
            hint="write <accessKey>:<url-encoded secretKey>@<endpoint>/<bucket>",
        )
    has_endpoint = bool(raw_user) or scheme == "cw" or "endpoint" in options
    if not has_endpoint:
        # s3://<bucket>[/<subpath>]: AWS with the ambient identity.
        bucket, segments = _host_and_path(rest, scheme, "bucket")
        return Store(
            scheme="s3",
            provider="aws",
            bucket=bucket,
            subpath=_subpath_of(segments, scheme),
            region=options.get("region"),
            tls=_bool(options, "tls", True),
            path_style=_bool(options, "path_style", False),
            credentials=creds,
        )
    if "endpoint" in options:
        host = options["endpoint"]
        bucket, segments = _host_and_path(rest, scheme, "bucket")
    else:
        host, segments = _host_and_path(rest, scheme, "endpoint")
        if not segments or not segments[0]:
            raise UriError(
                f"the {scheme}:// connection string names no bucket after the endpoint {host!r}",
                hint=f"write {scheme}://<accessKey>:<secretKey>@{host}/<bucket>",
            )
        bucket, segments = segments[0], segments[1:]
    default_tls = True
    if "://" in host:
        proto, host = host.split("://", 1)
        default_tls = proto.lower() == "https"
    host = host.rstrip("/")
    aws_region = aws_region_of_host(host)
    if scheme == "cw":
        provider = "coreweave"
        region = options.get("region")
        tls = _bool(options, "tls", True)
        path_style = _bool(options, "path_style", False)
    elif aws_region is not None:
        provider = "aws"
        region = options.get("region") or aws_region
        tls = _bool(options, "tls", True)
        path_style = _bool(options, "path_style", False)
    else:
        provider = "minio"
        region = options.get("region") or environ.get("AWS_REGION") or None
        if region is None:
            raise UriError(
                f"region is required for the S3-compatible endpoint {host!r}",
                hint="add ?region=<region> (for example ?region=us-east-1) to the connection string",
            )
        tls = _bool(
            options, "tls", False if "://" not in options.get("endpoint", "") else default_tls
        )
        path_style = _bool(options, "path_style", True)
    return Store(
        scheme=scheme,
        provider=provider,
        bucket=bucket,
        subpath=_subpath_of(segments, scheme),
        region=region,
        endpoint=host,
        tls=tls,
        path_style=path_style,
        credentials=creds,
    )


def _endpoint_option(options: Mapping[str, str]) -> tuple[str | None, bool]:
    """The ``endpoint=`` parameter as (host[/path], tls): a URL's scheme sets TLS, which a
    ``tls=`` parameter overrides; without an endpoint, TLS is on unless ``tls=false``."""
    endpoint = options.get("endpoint")
    tls = True
    if endpoint and "://" in endpoint:
        proto, endpoint = endpoint.split("://", 1)
        tls = proto.lower() == "https"
    return (endpoint.rstrip("/") if endpoint else None), _bool(options, "tls", tls)


def _parse_az(user: str, secret: str, rest: str, options: dict[str, str]) -> Store:
    if user:
        raise UriError(
            "an az:// connection string takes an empty user name, not a user before the ':'",
            hint="write az://:<url-encoded account key>@<account>/<container>",
        )
    account, segments = _host_and_path(rest, "az", "storage account")
    if not segments or not segments[0]:
        raise UriError(
            f"the az:// connection string names no container after the account {account!r}",
            hint=f"write az://:<key>@{account}/<container>",
        )
    container = segments[0]
    endpoint, tls = _endpoint_option(options)
    return Store(
        scheme="az",
        provider="azure",
        bucket=container,
        container=container,
        account=account,
        subpath=_subpath_of(segments[1:], "az"),
        endpoint=endpoint,
        tls=tls,
        credentials=Credentials(account_key=secret or None),
    )


def _parse_gs(user: str, secret: str, rest: str, options: dict[str, str]) -> Store:
    bucket, segments = _host_and_path(rest, "gs", "bucket")
    if bool(user) != bool(secret):
        raise UriError(
            "the gs:// connection string has a user without a key (or the reverse)",
            hint="write gs://<serviceAccountEmail>:<url-encoded private key>@<bucket>",
        )
    service_account = None
    creds = Credentials()
    if user and "@" in user:
        service_account = user
        creds = Credentials(private_key=secret)
    elif user:
        creds = Credentials(access_key=user, secret_key=secret)
    endpoint, tls = _endpoint_option(options)
    return Store(
        scheme="gs",
        provider="gcp",
        bucket=bucket,
        subpath=_subpath_of(segments, "gs"),
        service_account=service_account,
        endpoint=endpoint,
        tls=tls,
        credentials=creds,
    )


def _parse_file(raw_user: str, rest: str, options: dict[str, str]) -> Store:
    if raw_user:
        raise UriError("a file:// connection string takes no user info")
    path = unquote(rest)
    if not path.startswith("/"):
        if path.startswith("~"):
            path = os.path.expanduser(path)
        else:
            raise UriError(
                "a file:// connection string needs an absolute directory",
                hint="write file:///absolute/path/to/dir (three slashes)",
            )
    path = path.rstrip("/") or "/"
    return Store(
        scheme="file",
        provider="file",
        bucket=path,
        # The query value is decoded already; decoding it again would turn %2541 into A.
        subpath=_subpath_of([options["subpath"]], "file", decoded=True)
        if "subpath" in options
        else "",
    )


def _q(value: str) -> str:
    return quote(value, safe="")


def _endpoint_query(store: Store) -> str:
    """``?endpoint=...`` for a custom endpoint (or ``?tls=false`` without one), else ``""``."""
    if store.endpoint:
        return f"?endpoint={_q(store.endpoint_url or '')}"
    return "" if store.tls else "?tls=false"


def format(store: Store, *, redact: bool = False, host: PluginHost | None = None) -> str:
    """Format `store` as a connection string; `parse(format(s))` gives back an equal store.

    With ``redact=True`` secrets are written as ``***`` (for display). A plugin
    provider's store is formatted by its `byob_format_uri`, else in the generic form.
    """
    from byob_core.plugins import PluginHost

    if host is None:
        host = PluginHost.shared(entry_points=store.provider not in BUILTIN_PROVIDERS)
    return host.format_uri(store, redact=redact)


def _format_builtin(store: Store, *, redact: bool = False) -> str:
    def secret(value: str | None) -> str:
        return "***" if redact and value else _q(value or "")

    creds = store.credentials
    params: list[str] = []
    sub = "/" + quote(store.subpath, safe="/") if store.subpath else ""
    if store.provider == "file":
        query = f"?subpath={_q(store.subpath)}" if store.subpath else ""
        return f"file://{quote(store.bucket, safe='/~')}{query}"
    if store.provider == "azure":
        user = f":{secret(creds.account_key)}@" if creds.account_key else ""
        query = _endpoint_query(store)
        return f"az://{user}{store.account}/{store.container}{sub}{query}"
    if store.provider == "gcp":
        if store.service_account and creds.private_key:
            user = f"{store.service_account}:{secret(creds.private_key)}@"
        elif creds.access_key:
            user = f"{_q(creds.access_key)}:{secret(creds.secret_key)}@"
        else:
            user = ""
        query = _endpoint_query(store)
        return f"gs://{user}{store.bucket}{sub}{query}"
    if store.provider in ("aws", "minio", "coreweave"):
        user = ""
        if creds.access_key or creds.secret_key:
            user = f"{_q(creds.access_key or '')}:{secret(creds.secret_key)}@"
        params = []
        if store.provider == "aws" and not store.endpoint:
            if store.region:
                params.append(f"region={store.region}")
            if user:
                host = f"s3.{store.region}.amazonaws.com" if store.region else "s3.amazonaws.com"
                return f"s3://{user}{host}/{store.bucket}{sub}" + (
                    f"?region={store.region}" if store.region else ""
                )
            if not store.tls:
                params.append("tls=false")
            if store.path_style:
                params.append("forcePathStyle=true")
            return f"s3://{store.bucket}{sub}" + ("?" + "&".join(params) if params else "")
        host = store.endpoint or ""
        if store.region:
            params.append(f"region={store.region}")
        params.append(f"tls={'true' if store.tls else 'false'}")
        default_path_style = store.provider == "minio"
        if store.path_style != default_path_style:
            params.append(f"forcePathStyle={'true' if store.path_style else 'false'}")
        if not user:
            # A custom endpoint without keys: ambient credentials, endpoint as a parameter.
            params.insert(0, f"endpoint={_q(host)}")
            return f"{store.scheme}://{store.bucket}{sub}?" + "&".join(params)
        return f"{store.scheme}://{user}{host}/{store.bucket}{sub}?" + "&".join(params)
    raise UriError(f"cannot format a store of provider {store.provider!r} as a connection string")


# -- the generic form of a plugin's scheme ---------------------------------------------------
_GENERIC_FIELDS = {
    "region": "region",
    "tls": "tls",
    "forcepathstyle": "path_style",
    "path_style": "path_style",
    "pathstyle": "path_style",
    "subpath": "subpath",
}


def parse_generic(
    uri: str,
    *,
    provider: str,
    secret_extras: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Store:
    """Parse ``<scheme>://[<id>:<secret>@]<host>[:port]/<bucket>[/<sub-path>][?k=v&...]``.

    The host becomes `Store.endpoint`, the user info the access key and secret key;
    ``region``, ``tls`` (default true), ``forcePathStyle`` and ``subpath`` set their
    fields, and every other parameter becomes an entry of `Store.extras` (those named in
    `secret_extras` are secrets).

    >>> s = parse_generic("r2://id:c2VjcmV0@acct.r2.example/ml/wandb?jurisdiction=eu", provider="r2")
    >>> s.endpoint, s.bucket, s.subpath, dict(s.extras)
    ('acct.r2.example', 'ml', 'wandb', {'jurisdiction': 'eu'})
    """
    scheme, raw_user, rest, query = _split(uri)
    try:
        user, secret = _userinfo(raw_user, scheme)
        if secret:
            secrets.register([secret])
        fields: dict[str, str] = {}
        extras: dict[str, str] = {}
        for item in re.split(r"[?&]", query):
            if not item:
                continue
            name, sep, value = item.partition("=")
            if not name or not sep or not value:
                raise UriError(
                    f"query parameter {name or item!r} has no value", hint=f"write {name}=<value>"
                )
            field = _GENERIC_FIELDS.get(name.lower())
            if field is not None:
                fields[field] = unquote(value)
            else:
                extras[name] = unquote(value)
        secrets.register(extras.get(name) for name in secret_extras)
        host, segments = _host_and_path(rest, scheme, "host")
        if not segments or not segments[0]:
            raise UriError(
                f"the {scheme}:// connection string names no bucket after the host {host!r}",
                hint=f"write {scheme}://[<id>:<secret>@]{host}/<bucket>[/<sub-path>]",
            )
        subpath = _subpath_of(segments[1:], scheme)
        if "subpath" in fields:
            subpath = _subpath_of([fields["subpath"]], scheme, decoded=True)
        return Store(
            scheme=scheme,
            provider=provider,
            bucket=unquote(segments[0]),
            subpath=subpath,
            region=fields.get("region"),
            endpoint=host,
            tls=_bool(fields, "tls", True),
            path_style=_bool(fields, "path_style", False),
            credentials=Credentials(access_key=user or None, secret_key=secret or None),
            extras=extras,
            secret_extras=tuple(secret_extras),
        )
    except UriError as exc:
        raise UriError(secrets.redact(str(exc.args[0])), hint=exc.hint) from None
    except ValueError as exc:
        raise UriError(secrets.redact(str(exc))) from None


def format_generic(store: Store, *, redact: bool = False) -> str:
    """The generic form of `store`; `parse_generic` reads it back into an equal store."""
    creds = store.credentials

    def secret(value: str | None) -> str:
        return "***" if redact and value else _q(value or "")

    user = ""
    if creds.access_key or creds.secret_key:
        user = f"{_q(creds.access_key or '')}:{secret(creds.secret_key)}@"
    sub = "/" + quote(store.subpath, safe="/") if store.subpath else ""
    params = [f"region={_q(store.region)}"] if store.region else []
    if not store.tls:
        params.append("tls=false")
    if store.path_style:
        params.append("forcePathStyle=true")
    for name, value in sorted(store.extras.items()):
        shown = "***" if redact and name in store.secret_extras else _q(value)
        params.append(f"{_q(name)}={shown}")
    query = "?" + "&".join(params) if params else ""
    return f"{store.scheme}://{user}{store.endpoint or ''}/{_q(store.bucket)}{sub}{query}"
