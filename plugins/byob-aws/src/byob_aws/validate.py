"""Validation of an S3 bucket (docs/concepts.md#validation): one `Finding` per check, each with a fix hint.

Every check is a method of `Validator`, so an S3-compatible provider (byob-minio) can
subclass it, drop or replace the checks its server answers differently, and keep the rest.
Checks really exercise the store: the pre-signed check PUTs and GETs an object over plain
HTTP with our own signer, and the preflight check sends an OPTIONS request with ``Origin``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from byob_core import keys, retries
from byob_core.findings import Finding
from byob_core.signing import SignRequest, utcnow

from byob_aws import documents as docs
from byob_aws.provision import same_key, setting
from byob_aws.s3 import (
    ACCESS_CODES,
    UNSUPPORTED_CODES,
    Connection,
    client,
    error_code,
    error_message,
    presigner,
)
from byob_aws.sigv4 import PATH_SAFE, S3Endpoint, ambient_region

if TYPE_CHECKING:
    from byob_core.provider import ValidateContext
    from byob_core.stores import Store

    from byob_aws.provider import S3Provider

#: The origin a CORS preflight claims to come from (any origin must be allowed).
PREFLIGHT_ORIGIN = "https://byob-validate.example.com"


class Skip(Exception):
    """Raised inside a check to report it as skipped."""


class Validator:
    """One validation run of one store."""

    def __init__(self, provider: S3Provider, store: Store, context: ValidateContext) -> None:
        self.provider = provider
        self.store = store
        self.context = context
        self.prefix = provider.check_prefix
        self.bucket = store.bucket
        self.region = store.region or ambient_region()
        self.s3 = client(store)
        #: None until the bucket check ran; False makes the bucket checks skip.
        self.bucket_ok: bool | None = None

    def setting(self, name: str, default: Any) -> Any:
        return setting(self.store, {}, name, default)

    def checks(self) -> list[tuple[str, Callable[[], Finding]]]:
        """(check id suffix, method) in the order they run; the bucket check comes first."""
        return [
            ("credentials", self.credentials),
            ("bucket", self.bucket_exists),
            ("region", self.region_check),
            ("versioning", self.versioning),
            ("encryption", self.encryption),
            ("public_access", self.public_access),
            ("ownership", self.ownership),
            ("cors", self.cors),
            ("policy", self.policy),
            ("lifecycle", self.lifecycle),
            ("presigned", self.presigned),
            ("preflight", self.preflight),
        ]

    def run(self) -> list[Finding]:
        findings = []
        for name, check in self.checks():
            check_id = f"{self.prefix}.{name}"
            needs_bucket = name not in ("credentials", "bucket")
            if needs_bucket and self.bucket_ok is False:
                findings.append(Finding.skipped(check_id, f"bucket {self.bucket} is not reachable"))
                continue
            try:
                finding = check()
            except Skip as skip:
                finding = Finding.skipped(check_id, str(skip))
            except Exception as exc:
                code = error_code(exc)
                if code in UNSUPPORTED_CODES:
                    findings.append(
                        Finding.warned(
                            check_id,
                            f"the server does not support this check ({error_message(exc)})",
                            hint="configure the equivalent setting on the server side",
                        )
                    )
                    continue
                hint = (
                    "grant these credentials the permission to read this setting"
                    if code in ACCESS_CODES
                    else "check the endpoint, region and network"
                )
                finding = Finding.failed(
                    check_id, f"could not check: {error_message(exc)}", hint=hint
                )
            findings.append(_with_id(finding, check_id))
        return findings

    # -- credentials and the bucket -------------------------------------------------------
    def credentials(self) -> Finding:
        conn = Connection.of(self.store)
        if conn.role_arn:
            source = f"role {conn.role_arn}" + (
                " (web identity)" if conn.web_identity_token_file else ""
            )
        elif conn.profile:
            source = f"profile {conn.profile!r}"
        else:
            source = "the store" if conn.explicit_credentials else "the AWS chain"
        identity = client(self.store, "sts").get_caller_identity()
        return Finding.passed(
            "",
            f"credentials from {source} are valid (account {identity['Account']})",
            arn=identity.get("Arn", ""),
        )

    def bucket_exists(self) -> Finding:
        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            self.bucket_ok = False
            code = error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return Finding.failed(
                    "",
                    f"bucket {self.bucket} does not exist",
                    hint="create it with `python -m byob_core provision`",
                )
            if code in ("403", *ACCESS_CODES):
                return Finding.failed(
                    "",
                    f"bucket {self.bucket} exists but these credentials may not reach it",
                    hint="grant s3:ListBucket on the bucket, or check the credentials",
                )
            return Finding.failed(
                "",
                f"cannot reach bucket {self.bucket}: {error_message(exc)}",
                hint="check the endpoint, TLS flag and network",
            )
        self.bucket_ok = True
        return Finding.passed("", f"bucket {self.bucket} exists and is reachable")

    def region_check(self) -> Finding:
        location = self.s3.get_bucket_location(Bucket=self.bucket).get("LocationConstraint")
        actual = "us-east-1" if not location else ("eu-west-1" if location == "EU" else location)
        if actual != self.region:
            return Finding.failed(
                "",
                f"bucket is in {actual}, the store says {self.region}",
                hint=f"set the store's region to {actual}",
                bucket_region=actual,
            )
        return Finding.passed("", f"bucket is in {actual}", bucket_region=actual)

    # -- bucket settings -------------------------------------------------------------------
    def _get(self, call: Callable[[], Any], missing: Iterable[str]) -> Any:
        try:
            return call()
        except Exception as exc:
            if error_code(exc) in set(missing):
                return None
            raise

    def versioning(self) -> Finding:
        status = self.s3.get_bucket_versioning(Bucket=self.bucket).get("Status") or "Disabled"
        if status != "Enabled":
            return Finding.failed(
                "",
                f"versioning is {status}: a mistaken delete cannot be undone",
                hint=f"aws s3api put-bucket-versioning --bucket {self.bucket} "
                "--versioning-configuration Status=Enabled (or run provision)",
                status=status,
            )
        return Finding.passed("", "versioning is enabled", status=status)

    def encryption(self) -> Finding:
        config = self._get(
            lambda: self.s3.get_bucket_encryption(Bucket=self.bucket)[
                "ServerSideEncryptionConfiguration"
            ],
            ("ServerSideEncryptionConfigurationNotFoundError",),
        )
        hint = "run provision, or aws s3api put-bucket-encryption"
        if not config or not config.get("Rules"):
            return Finding.failed("", "no default encryption", hint=hint)
        default = config["Rules"][0].get("ApplyServerSideEncryptionByDefault", {})
        algorithm = default.get("SSEAlgorithm")
        key = default.get("KMSMasterKeyID")
        expected_key = self.store.kms_key_arn or self.setting("kms_key_arn", None)
        wanted = str(self.setting("encryption", "aws:kms")).lower()
        details = {"algorithm": algorithm, "kms_key": key}
        if expected_key:
            if algorithm != "aws:kms" or not same_key(key, expected_key):
                return Finding.failed(
                    "",
                    f"default encryption is {algorithm} with {key}, not SSE-KMS with {expected_key}",
                    hint=hint,
                    **details,
                )
            return Finding.passed("", f"SSE-KMS with the configured key {expected_key}", **details)
        if algorithm == "aws:kms":
            return Finding.passed("", f"SSE-KMS with {key}", **details)
        if wanted in ("aes256", "sse-s3", "s3") or not self.provider.has_kms:
            return Finding.passed("", f"default encryption is {algorithm}", **details)
        return Finding.warned(
            "",
            f"default encryption is {algorithm}, not SSE-KMS",
            hint='run provision to use a KMS key, or set encryption = "AES256" to accept SSE-S3',
            **details,
        )

    def public_access(self) -> Finding:
        config = self._get(
            lambda: self.s3.get_public_access_block(Bucket=self.bucket)[
                "PublicAccessBlockConfiguration"
            ],
            ("NoSuchPublicAccessBlockConfiguration",),
        )
        open_ = [k for k in docs.PUBLIC_ACCESS_BLOCK if not (config or {}).get(k)]
        if open_:
            return Finding.failed(
                "",
                f"public access is not fully blocked ({', '.join(open_)} off)",
                hint=f"aws s3api put-public-access-block --bucket {self.bucket} "
                "--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
                "BlockPublicPolicy=true,RestrictPublicBuckets=true",
                configuration=config,
            )
        return Finding.passed("", "public access is fully blocked")

    def ownership(self) -> Finding:
        config = self._get(
            lambda: self.s3.get_bucket_ownership_controls(Bucket=self.bucket)["OwnershipControls"],
            ("OwnershipControlsNotFoundError",),
        )
        rules = (config or {}).get("Rules", [])
        owner = rules[0].get("ObjectOwnership") if rules else None
        if owner != "BucketOwnerEnforced":
            return Finding.warned(
                "",
                f"object ownership is {owner or 'not set'}: ACLs still apply",
                hint=f"aws s3api put-bucket-ownership-controls --bucket {self.bucket} "
                "--ownership-controls Rules=[{ObjectOwnership=BucketOwnerEnforced}]",
            )
        return Finding.passed("", "ACLs are disabled (BucketOwnerEnforced)")

    def cors(self) -> Finding:
        rules = (
            self._get(
                lambda: self.s3.get_bucket_cors(Bucket=self.bucket)["CORSRules"],
                ("NoSuchCORSConfiguration",),
            )
            or []
        )
        problems = docs.cors_problems(rules)
        if problems:
            return Finding.failed(
                "",
                "CORS: " + "; ".join(problems),
                hint="browsers need GET, HEAD and PUT from any origin and the ETag header: "
                "run provision, or put the rule of `plan`'s cors document",
                rules=rules,
            )
        return Finding.passed("", "CORS allows GET, HEAD and PUT from any origin and exposes ETag")

    def policy(self) -> Finding:
        principal = self.context.principal
        if not principal:
            # Nothing to compare with; the plan names the principal to configure.
            raise Skip(
                "no platform principal is configured: nothing to check the bucket policy "
                "against (configure the platform's AWS role or account ARN)"
            )
        text = self._get(
            lambda: self.s3.get_bucket_policy(Bucket=self.bucket)["Policy"],
            ("NoSuchBucketPolicy",),
        )
        policy = docs.parse_policy(text)
        missing = docs.missing_grants(policy, self.bucket, principal)
        if missing:
            return Finding.failed(
                "",
                f"the bucket policy does not grant {principal}: {', '.join(missing)}",
                hint="run provision, or add the statement of `plan`'s bucket_policy document",
                missing=missing,
            )
        return Finding.passed("", f"the bucket policy grants {principal} all eleven actions")

    def lifecycle(self) -> Finding:
        rules = (
            self._get(
                lambda: self.s3.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"],
                ("NoSuchLifecycleConfiguration",),
            )
            or []
        )
        if not docs.aborts_multipart(rules, self.store.prefix):
            return Finding.warned(
                "",
                "no lifecycle rule aborts incomplete multipart uploads",
                hint="run provision to add the byob lifecycle rule (abandoned parts cost money)",
            )
        expires = any(
            r.get("Status") == "Enabled" and r.get("NoncurrentVersionExpiration") for r in rules
        )
        if not expires:
            return Finding.warned(
                "",
                "incomplete uploads are aborted, but noncurrent versions never expire",
                hint="run provision to add noncurrent version expiry",
            )
        return Finding.passed("", "lifecycle rules abort stale uploads and expire old versions")

    # -- over plain HTTP --------------------------------------------------------------------
    def probe_key(self) -> str:
        return probe_key(self.store, "presign")

    def presigned(self) -> Finding:
        if self.context.read_only:
            raise Skip("read-only validation: no pre-signed PUT")
        failure = signed_round_trip(self.provider, self.store, self.s3)
        if failure is None:
            return Finding.passed("", "a pre-signed PUT then GET over plain HTTP worked")
        method, message = failure
        hint = (
            "check the clock, the credentials' s3:PutObject permission and the bucket policy"
            if method == "PUT"
            else "check s3:GetObject and the KMS key policy (kms:Decrypt)"
        )
        return Finding.failed("", message, hint=hint)

    def _remove(self, key: str, version: str | None) -> None:
        remove_probe(self.s3, self.bucket, key, version)

    def object_url(self, key: str) -> str:
        return object_url(self.store, key)

    def preflight(self) -> Finding:
        status, headers = preflight_request(self.store)
        allowed_origin = headers.get("access-control-allow-origin")
        methods = allowed_methods(headers)
        details = {"status": status, "allow_origin": allowed_origin, "allow_methods": methods}
        if not preflight_allowed(status, headers):
            return Finding.failed(
                "",
                f"CORS preflight from {PREFLIGHT_ORIGIN} was refused (HTTP {status})",
                hint="browsers cannot upload: set the CORS rules (run provision)",
                **details,
            )
        if methods and "PUT" not in methods:
            return Finding.failed(
                "",
                "CORS preflight does not allow PUT",
                hint="add PUT to the CORS rule's AllowedMethods",
                **details,
            )
        return Finding.passed("", "CORS preflight for a PUT from any origin is allowed", **details)


# -- the checks over plain HTTP, shared with the S3-compatible providers (byob-minio) ----------
def probe_key(store: Store, name: str) -> str:
    """A fresh key under the store's reserved prefix for a probe object."""
    return keys.join(
        store.subpath, f"{keys.RESERVED}/{name}-{uuid.uuid4().hex}", allow_reserved=True
    )


def remove_probe(s3: Any, bucket: str, key: str, version: str | None) -> None:
    """Delete a probe; its version too, so a versioned bucket keeps neither marker nor version."""
    try:
        if version and version != "null":
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
        else:
            s3.delete_object(Bucket=bucket, Key=key)
    except Exception:  # noqa: S110 - the check's own outcome matters more than the cleanup
        pass


def signed_round_trip(provider: S3Provider, store: Store, s3: Any) -> tuple[str, str] | None:
    """A PUT then a GET of a probe through URLs of our own signer, over plain HTTP.

    None when both worked and the bytes came back; else (the failing method, what went
    wrong). The probe (and its version) is deleted either way through `s3`.
    """
    key = probe_key(store, "presign")
    body = b"byob pre-signed probe " + uuid.uuid4().hex.encode()
    signer = presigner(store, provider.spec.user_param)
    at = utcnow()
    put, get = signer.sign_many(
        [
            # moto (and some servers) store an empty object for urllib's form content type.
            SignRequest(key=key, method="PUT", at=at, content_type="application/octet-stream"),
            SignRequest(key=key, at=at),
        ]
    )
    version = None
    try:
        try:
            status, headers, _ = http("PUT", put.url, body, dict(put.headers), store=store)
        except OSError as exc:
            return "PUT", f"the pre-signed PUT failed: {type(exc).__name__}"
        version = headers.get("x-amz-version-id")
        if status >= 300:
            return "PUT", f"pre-signed PUT answered HTTP {status}"
        try:
            status, _, data = http("GET", get.url, None, dict(get.headers), store=store)
        except OSError as exc:
            return "GET", f"the pre-signed GET failed: {type(exc).__name__}"
        if status >= 300 or data != body:
            return "GET", f"pre-signed GET answered HTTP {status}" + (
                " with other content" if status < 300 else ""
            )
    finally:
        remove_probe(s3, store.bucket, key, version)
    return None


def object_url(store: Store, key: str) -> str:
    """The unsigned URL of `key` in the store's bucket (path-style or virtual-hosted)."""
    conn = Connection.of(store)
    endpoint = S3Endpoint.for_bucket(
        store.bucket, conn.region, endpoint_url=conn.endpoint_url, path_style=conn.path_style
    )
    return endpoint.base + quote(key, safe=PATH_SAFE)


def preflight_request(store: Store, origin: str = PREFLIGHT_ORIGIN) -> tuple[int, dict[str, str]]:
    """The answer (status, lower-cased headers) to a browser's CORS preflight for a PUT.

    Sent on a key that does not exist, as a browser does before its first upload.
    """
    url = object_url(store, probe_key(store, "preflight"))
    status, headers, _ = http(
        "OPTIONS",
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type,content-md5",
        },
        store=store,
    )
    return status, headers


def allowed_methods(headers: dict[str, str]) -> list[str]:
    methods = {
        m.strip().upper() for m in headers.get("access-control-allow-methods", "").split(",")
    }
    return sorted(methods - {""})


def preflight_allowed(status: int, headers: dict[str, str], origin: str = PREFLIGHT_ORIGIN) -> bool:
    """Whether a preflight answer lets a browser at `origin` go on."""
    return status < 300 and headers.get("access-control-allow-origin") in ("*", origin)


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    store: Store | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request: (status, lower-cased headers, body); HTTP errors are returned.

    Retried after a transient failure as the store's options say (see docs/reliability.md).
    """
    policy = retries.policy_of(store) if store is not None else retries.RetryPolicy()
    return retries.send(method, url, body, headers, policy=policy, what=f"validate {method}")


def _with_id(finding: Finding, check_id: str) -> Finding:
    import attrs

    return finding if finding.check == check_id else attrs.evolve(finding, check=check_id)
