"""What S3-compatible servers answer differently from AWS, and what a person does about it.

MinIO (community edition) has no per-bucket CORS API and answers ``NotImplemented``; it
refuses versioning on a single-drive server; it encrypts with keys of its KES key server,
named by key name, never with AWS KMS key ARNs; its bucket policies know no AWS principals
(only ``*``, anonymous access), so a platform is granted access through the IAM policy
of the MinIO user whose keys it holds. These become findings and manual plan steps.
Pure functions and constants, no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from byob_aws import documents
from byob_aws.s3 import error_code, error_message

#: Error codes of an operation the server does not have.
NOT_IMPLEMENTED = frozenset({"NotImplemented", "501", "XNotImplemented", "MethodNotAllowed"})
#: Error codes a lifecycle configuration the server cannot take comes back with.
LIFECYCLE_REFUSED = NOT_IMPLEMENTED | {"MalformedXML", "InvalidArgument", "InvalidRequest"}
#: Error codes of a refused versioning change (single-drive MinIO, older FS mode).
VERSIONING_REFUSED = NOT_IMPLEMENTED | {"InvalidBucketState", "InvalidRequest"}
#: Error codes of a default-encryption request on a server without a KMS (no KES).
ENCRYPTION_REFUSED = NOT_IMPLEMENTED | {
    "KMSNotConfigured",
    "XMinioKMSNotConfigured",
    "InvalidArgument",
    "InvalidRequest",
}
MISSING_CORS = frozenset({"NoSuchCORSConfiguration"})
MISSING_ENCRYPTION = frozenset({"ServerSideEncryptionConfigurationNotFoundError"})
MISSING_LIFECYCLE = frozenset({"NoSuchLifecycleConfiguration"})
MISSING_POLICY = frozenset({"NoSuchBucketPolicy"})

#: The alias a person gave the server in ``mc alias set``; steps use it as a placeholder.
ALIAS = "<alias>"

VERSIONING_REASON = (
    "versioning needs an erasure-coded (multi-drive) MinIO deployment; a single-drive "
    "server refuses it"
)
CORS_SERVER_SIDE = (
    "MinIO has no per-bucket CORS API (it answers NotImplemented): CORS is a server-wide "
    "setting, which allows every origin by default and exposes ETag"
)


#: `encryption_rules` of an answer that is not an encryption configuration.
UNEXPECTED: Any = object()


def encryption_rules(answer: Any) -> Any:
    """The rules of a GetBucketEncryption answer: None or NotImplemented as given, else a list.

    `UNEXPECTED` when the server answered something else: Ceph RGW 16.2 answers
    ``GET ?encryption`` with a ``ListBucketResult``, which botocore parses into an empty
    ``ServerSideEncryptionConfiguration``.
    """
    if answer is None or answer is NotImplemented:
        return answer
    config = answer.get("ServerSideEncryptionConfiguration") if isinstance(answer, dict) else None
    rules = config.get("Rules") if isinstance(config, dict) else None
    if not isinstance(rules, list):
        return UNEXPECTED
    return rules


def is_not_implemented(exc: BaseException) -> bool:
    """Whether the server said it does not have this operation (HTTP 501)."""
    if error_code(exc) in NOT_IMPLEMENTED:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 501
    return False


def refused(exc: BaseException, codes: frozenset[str]) -> bool:
    """Whether `exc` is the server refusing a setting (one of `codes`, or HTTP 501)."""
    return error_code(exc) in codes or is_not_implemented(exc)


def reason(exc: BaseException) -> str:
    """The server's own words, secret-free (the code and message of its XML error)."""
    return error_message(exc)


def cors_steps(max_age: int) -> list[str]:
    """How a MinIO administrator sets the server-wide CORS that per-bucket rules would."""
    return [
        f'mc admin config set {ALIAS} api cors_allow_origin="*"',
        f"mc admin service restart {ALIAS}",
        "or start the server with MINIO_API_CORS_ALLOW_ORIGIN='*'",
        f"(browsers cache preflights for {max_age} s by the Access-Control-Max-Age of the "
        "server; MinIO exposes ETag to scripts by default)",
    ]


def versioning_steps(bucket: str) -> list[str]:
    return [
        "run MinIO erasure-coded, on 4 or more drives, e.g. "
        "`minio server http://minio{1...4}/data{1...4}` (a single drive cannot keep versions)",
        f"mc version enable {ALIAS}/{bucket}",
    ]


def kes_steps(bucket: str, key_name: str | None) -> list[str]:
    """SSE-KMS on MinIO: a key of its KES key server, by name, set as the bucket default."""
    key = key_name or "<kes-key-name>"
    return [
        "configure MinIO with a KES server (MINIO_KMS_KES_ENDPOINT, MINIO_KMS_KES_KEY_NAME ...)",
        f"mc admin kms key create {ALIAS} {key}",
        f"mc encrypt set sse-kms {key} {ALIAS}/{bucket}",
        "AWS KMS key ARNs do not apply to MinIO: give the KES key name as option kes_key",
    ]


def sse_s3_steps(bucket: str) -> list[str]:
    return [
        "configure a KMS for MinIO (a KES server, or MINIO_KMS_SECRET_KEY for a single key)",
        f"mc encrypt set sse-s3 {ALIAS}/{bucket}",
    ]


def lifecycle_steps(bucket: str, prefix: str, noncurrent_days: int) -> list[str]:
    scope = f" --prefix {prefix!r}" if prefix else ""
    return [
        f"mc ilm rule add {ALIAS}/{bucket}{scope} --noncurrent-expire-days {noncurrent_days}"
        " --expire-delete-marker",
        f"mc admin config set {ALIAS} api stale_uploads_expiry=24h "
        "(MinIO aborts stale multipart uploads itself)",
    ]


def user_policy(bucket: str) -> dict[str, Any]:
    """The IAM policy that grants a MinIO user the platform principal's actions on the bucket
    (docs/providers/aws.md#permissions).

    MinIO attaches policies to users and groups; a bucket policy there names no
    principal but ``*`` (anonymous), so this document carries no ``Principal``.
    """
    arn = documents.bucket_arn(bucket)
    object_actions = {"s3:GetObject*", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"}
    return {
        "Version": documents.POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ByobBucket",
                "Effect": "Allow",
                "Action": [a for a in documents.BUCKET_ACTIONS if a not in object_actions],
                "Resource": [arn],
            },
            {
                "Sid": "ByobObjects",
                "Effect": "Allow",
                "Action": [a for a in documents.BUCKET_ACTIONS if a in object_actions],
                "Resource": [f"{arn}/*"],
            },
        ],
    }


def policy_name(bucket: str) -> str:
    return f"byob-{bucket}"


def access_steps(bucket: str, principal: str) -> list[str]:
    name = policy_name(bucket)
    user = principal if ":" not in principal else "<minio-user-of-the-platform-keys>"
    return [
        f"mc admin policy create {ALIAS} {name} {name}.json   (the document 'user_policy')",
        f"mc admin policy attach {ALIAS} {name} --user {user}",
    ]


def anonymous_grants(policy: dict[str, Any]) -> list[str]:
    """Actions a bucket policy allows to anyone (``Principal: "*"``), sorted."""
    granted: set[str] = set()
    for statement in documents.statements(policy):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        anyone = principal == "*" or (
            isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))
        )
        if anyone:
            granted.update(_as_list(statement.get("Action")))
    return sorted(granted)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class Advice:
    """What to tell a person whose MinIO refused a setting: reasons and ``mc`` steps."""

    server = "MinIO"
    family = "minio"
    #: Whether the server has per-bucket CORS rules (MinIO community edition has not).
    bucket_cors = False
    versioning_reason = VERSIONING_REASON
    cors_server_side = CORS_SERVER_SIDE

    def preflight_steps(self, max_age: int) -> list[str]:
        """How to make a refused CORS preflight pass."""
        return self.cors_steps(max_age)

    def access_steps(self, bucket: str, principal: str) -> list[str]:
        return access_steps(bucket, principal)

    def cors_steps(self, max_age: int) -> list[str]:
        return cors_steps(max_age)

    def versioning_steps(self, bucket: str) -> list[str]:
        return versioning_steps(bucket)

    def kes_steps(self, bucket: str, key_name: str | None) -> list[str]:
        return kes_steps(bucket, key_name)

    def sse_s3_steps(self, bucket: str) -> list[str]:
        return sse_s3_steps(bucket)

    def lifecycle_steps(self, bucket: str, prefix: str, noncurrent_days: int) -> list[str]:
        return lifecycle_steps(bucket, prefix, noncurrent_days)


class ServiceAdvice(Advice):
    """The same for a hosted S3-compatible service (CoreWeave): its console or support, no ``mc``."""

    family = "coreweave"
    bucket_cors = True

    def __init__(self, server: str) -> None:
        self.server = server
        self.versioning_reason = f"{server} did not accept versioning for this bucket"
        self.cors_server_side = f"{server} has no per-bucket CORS API for this bucket"

    def _ask(self, what: str) -> list[str]:
        return [f"set {what} through {self.server}'s console or API, or ask its support"]

    def cors_steps(self, max_age: int) -> list[str]:
        return self._ask(
            f"CORS (origins *, methods GET HEAD PUT, expose ETag, max age {max_age} s)"
        )

    def versioning_steps(self, bucket: str) -> list[str]:
        return self._ask(f"versioning of bucket {bucket}")

    def kes_steps(self, bucket: str, key_name: str | None) -> list[str]:
        return [
            f"{self.server} has no AWS KMS: key ARNs do not apply",
            *self._ask(f"default encryption of bucket {bucket}"),
        ]

    def sse_s3_steps(self, bucket: str) -> list[str]:
        return self._ask(f"default encryption of bucket {bucket}")

    def lifecycle_steps(self, bucket: str, prefix: str, noncurrent_days: int) -> list[str]:
        return self._ask(
            f"a lifecycle rule on {bucket} (prefix {prefix!r}) expiring noncurrent versions "
            f"after {noncurrent_days} days and aborting stale multipart uploads"
        )

    def preflight_steps(self, max_age: int) -> list[str]:
        return ["run `python -m byob_core provision` to set the bucket's CORS rules"]

    def access_steps(self, bucket: str, principal: str) -> list[str]:
        return []


class S3ApiAdvice(Advice):
    """An S3-compatible server with the bucket APIs (Ceph RGW, others): ``aws s3api`` steps.

    Such a server has per-bucket CORS, versioning and lifecycle rules; what it refuses is
    set through the same S3 API by someone with the rights, or on the server itself.
    """

    family = "other"
    bucket_cors = True

    def __init__(self, server: str = "the S3-compatible server", endpoint: str = "") -> None:
        self.server = server
        self.endpoint = endpoint or "<endpoint>"
        self.versioning_reason = f"{server} did not accept versioning for this bucket"
        self.cors_server_side = (
            f"{server} refused per-bucket CORS rules: set them with the S3 API, or allow the "
            "origins in the server's own configuration"
        )

    def _s3api(self, command: str, bucket: str, document: Mapping[str, Any] | None = None) -> str:
        line = f"aws --endpoint-url {self.endpoint} s3api {command} --bucket {bucket}"
        if document is not None:
            line += f" --cli-input-json '{json.dumps(document, sort_keys=True)}'"
        return line

    def cors_steps(self, max_age: int) -> list[str]:
        rules = {"CORSConfiguration": {"CORSRules": documents.cors_rules(max_age)}}
        return [
            "run `python -m byob_core provision` (it sets the bucket's CORS rules), or: "
            + self._s3api("put-bucket-cors", "<bucket>", rules),
        ]

    def preflight_steps(self, max_age: int) -> list[str]:
        return self.cors_steps(max_age)

    def versioning_steps(self, bucket: str) -> list[str]:
        return [
            self._s3api(
                "put-bucket-versioning",
                bucket,
                {"VersioningConfiguration": {"Status": "Enabled"}},
            )
        ]

    def kes_steps(self, bucket: str, key_name: str | None) -> list[str]:
        return [
            f"{self.server} has no AWS KMS: key ARNs do not apply",
            f"configure a key management service on {self.server}, then set the bucket's "
            "default encryption (SSE-KMS) with its key",
        ]

    def sse_s3_steps(self, bucket: str) -> list[str]:
        return [
            self._s3api(
                "put-bucket-encryption",
                bucket,
                {
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [
                            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    }
                },
            ),
            f"(if {self.server} refuses it, it needs server-side encryption configured first)",
        ]

    def lifecycle_steps(self, bucket: str, prefix: str, noncurrent_days: int) -> list[str]:
        return [
            f"set a lifecycle rule on {bucket} (prefix {prefix!r}) expiring noncurrent versions "
            f"after {noncurrent_days} days and aborting stale multipart uploads: "
            + self._s3api("put-bucket-lifecycle-configuration", bucket)
        ]

    def access_steps(self, bucket: str, principal: str) -> list[str]:
        return [
            f"grant {principal} the actions in the document 'user_policy' through "
            f"{self.server}'s bucket policy or user policies"
        ]


class RgwAdvice(S3ApiAdvice):
    """Ceph RGW: per-bucket CORS, versioning and lifecycle through the S3 API; no SSE-S3 in 16.2."""

    family = "ceph-rgw"

    def __init__(self, endpoint: str = "") -> None:
        super().__init__("Ceph RGW", endpoint)

    def sse_s3_steps(self, bucket: str) -> list[str]:
        return [
            "Ceph RGW before 18.2 (Reef) has no SSE-S3 bucket default: upgrade and set "
            "`rgw crypt sse s3 backend = vault` (with its vault settings), then "
            + self._s3api("put-bucket-encryption", bucket),
            "or have clients send SSE-C / SSE-KMS headers per object (`rgw crypt s3 kms backend`)",
        ]

    def kes_steps(self, bucket: str, key_name: str | None) -> list[str]:
        key = key_name or "<key-id>"
        return [
            "Ceph RGW has no AWS KMS: key ARNs do not apply",
            "configure `rgw crypt s3 kms backend` (vault, kmip, barbican or testing) with key "
            f"{key}, then set the bucket default to SSE-KMS with it",
        ]

    def lifecycle_steps(self, bucket: str, prefix: str, noncurrent_days: int) -> list[str]:
        return [
            *super().lifecycle_steps(bucket, prefix, noncurrent_days),
            "radosgw runs lifecycle in its `rgw lifecycle work time` window",
        ]


def advice_for(family: str, *, provider: str, endpoint: str = "") -> Advice:
    """The advice of a server family; a ``coreweave`` store always gets CoreWeave's."""
    if provider == "coreweave" or family == COREWEAVE_FAMILY:
        return ServiceAdvice("CoreWeave")
    if family == MINIO_FAMILY:
        return Advice()
    if family == RGW_FAMILY:
        return RgwAdvice(endpoint)
    return S3ApiAdvice(endpoint=endpoint)


# -- which server answered -------------------------------------------------------------------
MINIO_FAMILY = "minio"
RGW_FAMILY = "ceph-rgw"
COREWEAVE_FAMILY = "coreweave"
OTHER_FAMILY = "other"
#: The server families byob tells apart, and the name each has in messages.
FAMILY_NAMES = {
    MINIO_FAMILY: "MinIO",
    RGW_FAMILY: "Ceph RGW",
    COREWEAVE_FAMILY: "CoreWeave",
    OTHER_FAMILY: "the S3-compatible server",
}
COREWEAVE_HOSTS = ("cwobject.com", "cwlota.com")
#: radosgw's transaction ids: ``tx`` + 21 hex digits, ``-`` + hex time, ``-`` + ids/zonegroup.
_RGW_REQUEST_ID = re.compile(r"tx[0-9a-f]{21}-[0-9a-f]{8,}-[0-9a-f]+-\S+")


def identify(headers: Mapping[str, str] | None, *, endpoint: str | None = None) -> str:
    """The family of the server that sent `headers` (a response's, any case).

    MinIO names itself in ``Server``; Ceph RGW's civetweb front end does too ("Ceph Object
    Gateway"), its beast front end sends no ``Server`` but request ids of its own form
    (``tx…-…-…-<zonegroup>``); CoreWeave is known by its endpoint. Anything else is
    ``other`` (AWS itself, moto, ...).
    """
    host = (endpoint or "").split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    if any(host == h or host.endswith("." + h) for h in COREWEAVE_HOSTS):
        return COREWEAVE_FAMILY
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    server = lowered.get("server", "").lower()
    if "minio" in server or "x-minio-deployment-id" in lowered:
        return MINIO_FAMILY
    if "ceph" in server or "radosgw" in server:
        return RGW_FAMILY
    if _RGW_REQUEST_ID.fullmatch(lowered.get("x-amz-request-id", "")):
        return RGW_FAMILY
    return OTHER_FAMILY


def response_headers(answer_or_exc: Any) -> dict[str, str]:
    """The HTTP headers of a botocore answer or of the ClientError it raised ({} if none)."""
    response = getattr(answer_or_exc, "response", answer_or_exc)
    if not isinstance(response, dict):
        return {}
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return dict(headers) if isinstance(headers, dict) else {}
