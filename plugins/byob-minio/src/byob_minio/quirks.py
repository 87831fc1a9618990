"""What S3-compatible servers answer differently from AWS, and what a person does about it.

MinIO (community edition) has no per-bucket CORS API and answers ``NotImplemented``; it
refuses versioning on a single-drive server; it encrypts with keys of its KES key server,
named by key name, never with AWS KMS key ARNs; its bucket policies know no AWS principals
(only ``*``, anonymous access), so a platform is granted access through the IAM policy
of the MinIO user whose keys it holds. These become findings and manual plan steps.
Pure functions and constants, no I/O.
"""

from __future__ import annotations

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
    """The IAM policy that grants a MinIO user SPEC §3's actions on the bucket.

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
    versioning_reason = VERSIONING_REASON
    cors_server_side = CORS_SERVER_SIDE

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
