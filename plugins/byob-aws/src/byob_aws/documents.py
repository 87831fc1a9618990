"""The JSON documents byob asks of an S3 bucket (docs/providers/aws.md#what-it-provisions), and how to compare them with what exists.

Pure functions, no I/O: provisioning writes these documents, validation parses what the
bucket has and compares it with them (parsed and compared, never string-matched).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

POLICY_VERSION = "2012-10-17"
#: What the platform principal needs on the bucket and its objects (docs/providers/aws.md#permissions).
BUCKET_ACTIONS = (
    "s3:GetObject*",
    "s3:GetEncryptionConfiguration",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:PutObject",
    "s3:GetBucketCORS",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
)
#: What the platform principal needs on the KMS key (the key policy's External statement).
KMS_EXTERNAL_ACTIONS = (
    "kms:Decrypt",
    "kms:Describe*",
    "kms:Encrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
)
GRANT_SID = "ByobPlatformAccess"
DENY_TLS_SID = "ByobDenyInsecureTransport"
CORS_METHODS = ("GET", "HEAD", "PUT")
DEFAULT_CORS_MAX_AGE = 3600
#: The ID of byob's CORS rule: provision updates this rule and keeps every other.
CORS_RULE_ID = "byob-cors"
DEFAULT_NONCURRENT_DAYS = 30
DEFAULT_ABORT_MULTIPART_DAYS = 7

_ACCOUNT_ID = re.compile(r"\d{12}")


def bucket_arn(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}"


def normalize_principal(principal: str) -> str:
    """AWS stores a bare account id as the account's root ARN; compare in that form."""
    if _ACCOUNT_ID.fullmatch(principal):
        return f"arn:aws:iam::{principal}:root"
    return principal


def key_policy(account_id: str, principal: str | None) -> dict[str, Any]:
    """The two-statement KMS key policy: the account keeps ``kms:*``, the platform uses the key."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Internal",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if principal:
        statements.append(
            {
                "Sid": "External",
                "Effect": "Allow",
                "Principal": {"AWS": normalize_principal(principal)},
                "Action": list(KMS_EXTERNAL_ACTIONS),
                "Resource": "*",
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def encryption_config(kms_key_arn: str | None) -> dict[str, Any]:
    """Default encryption: SSE-KMS with the key, or SSE-S3 (``AES256``) without one."""
    if kms_key_arn:
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_arn}
        return {
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]
        }
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def cors_rules(max_age: int = DEFAULT_CORS_MAX_AGE) -> list[dict[str, Any]]:
    """byob's CORS rule (ID `CORS_RULE_ID`, docs/providers/aws.md#what-it-provisions); ETag is
    exposed because multipart clients read it."""
    return [
        {
            "ID": CORS_RULE_ID,
            "AllowedHeaders": ["*"],
            "AllowedMethods": list(CORS_METHODS),
            "AllowedOrigins": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": int(max_age),
        }
    ]


def cors_problems(rules: Sequence[Mapping[str, Any]], max_age: int | None = None) -> list[str]:
    """What the bucket's CORS rules lack (empty when one rule does all the CORS rule asks).

    A rule qualifies when it allows GET, HEAD and PUT from ``*``, exposes ``ETag`` and
    has a max age (equal to `max_age` when given). The problems of the closest rule are
    returned, so the message says what to fix.
    """
    best: list[str] | None = None
    for rule in rules or ():
        problems = []
        methods = {m.upper() for m in rule.get("AllowedMethods", ())}
        missing = [m for m in CORS_METHODS if m not in methods]
        if missing:
            problems.append(f"does not allow {', '.join(missing)}")
        if "*" not in rule.get("AllowedOrigins", ()):
            problems.append("does not allow origin '*'")
        exposed = {h.lower() for h in rule.get("ExposeHeaders", ())}
        if "etag" not in exposed and "*" not in exposed:
            problems.append("does not expose ETag")
        age = rule.get("MaxAgeSeconds")
        if age is None:
            problems.append("has no MaxAgeSeconds")
        elif max_age is not None and int(age) != int(max_age):
            problems.append(f"has MaxAgeSeconds {age}, not {max_age}")
        if best is None or len(problems) < len(best):
            best = problems
    return ["no CORS rule"] if best is None else best


def is_byob_cors_rule(rule: Mapping[str, Any]) -> bool:
    """Whether `rule` is byob's: its ID, or (written before rules had one) byob's rule verbatim."""
    if rule.get("ID") is not None:
        return rule.get("ID") == CORS_RULE_ID
    ours = cors_rules(int(rule.get("MaxAgeSeconds") or 0))[0]
    ours.pop("ID")
    return _unordered(rule) == _unordered(ours)


def _unordered(rule: Mapping[str, Any]) -> dict[str, Any]:
    # Servers may reorder a rule's lists (Ceph RGW answers methods as GET, PUT, HEAD).
    return {k: sorted(v) if isinstance(v, list) else v for k, v in rule.items()}


def merged_cors(current: Sequence[Mapping[str, Any]], max_age: int) -> list[dict[str, Any]]:
    """The bucket's own CORS rules, unchanged and in order, then byob's rule (added or updated)."""
    return [dict(r) for r in current if not is_byob_cors_rule(r)] + cors_rules(max_age)


def grant_statement(bucket: str, principal: str) -> dict[str, Any]:
    """The bucket-policy statement granting the platform principal the eleven actions."""
    arn = bucket_arn(bucket)
    return {
        "Sid": GRANT_SID,
        "Effect": "Allow",
        "Principal": {"AWS": normalize_principal(principal)},
        "Action": list(BUCKET_ACTIONS),
        "Resource": [arn, f"{arn}/*"],
    }


def deny_insecure_statement(bucket: str) -> dict[str, Any]:
    arn = bucket_arn(bucket)
    return {
        "Sid": DENY_TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def parse_policy(text: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """A policy document as a dict (``{}`` for none)."""
    if not text:
        return {}
    if isinstance(text, Mapping):
        return dict(text)
    return dict(json.loads(text))


def statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = policy.get("Statement", [])
    return [raw] if isinstance(raw, Mapping) else list(raw)


def _as_set(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset([value])
    return frozenset(str(v) for v in value)


def _principals(statement: Mapping[str, Any]) -> frozenset[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return frozenset(["*"])
    if isinstance(principal, Mapping):
        return frozenset(normalize_principal(p) for p in _as_set(principal.get("AWS")))
    return frozenset()


def canonical_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement with list order, single-item lists and principal forms normalised."""
    out: dict[str, Any] = {}
    for name, value in statement.items():
        if name in ("Action", "NotAction", "Resource", "NotResource"):
            out[name] = sorted(_as_set(value))
        elif name == "Principal":
            out[name] = sorted(_principals(statement))
        else:
            out[name] = value
    return out


def same_statements(a: Iterable[Mapping[str, Any]], b: Iterable[Mapping[str, Any]]) -> bool:
    key = lambda s: json.dumps(canonical_statement(s), sort_keys=True)  # noqa: E731
    return sorted(map(key, a)) == sorted(map(key, b))


def _action_covers(pattern: str, action: str) -> bool:
    """Whether IAM action `pattern` (with ``*`` wildcards, case-insensitive) covers `action`."""
    regex = "^" + re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, action.lower()) is not None


def missing_grants(policy: Mapping[str, Any], bucket: str, principal: str) -> list[str]:
    """The actions of `BUCKET_ACTIONS` that no Allow statement grants `principal` on the bucket.

    Object actions (``GetObject*``, ``PutObject``, ``DeleteObject``, ``AbortMultipartUpload``)
    must apply to ``bucket/*``; bucket actions to the bucket ARN. Wildcards in the policy's
    actions and resources are honoured.
    """
    who = normalize_principal(principal)
    arn = bucket_arn(bucket)
    object_actions = {"s3:GetObject*", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"}
    allows = [
        s
        for s in statements(policy)
        if s.get("Effect") == "Allow"
        and not s.get("Condition")
        and (who in _principals(s) or "*" in _principals(s))
    ]
    missing = []
    for action in BUCKET_ACTIONS:
        target = f"{arn}/*" if action in object_actions else arn
        needed = action.rstrip("*") if action.endswith("*") else action
        granted = any(
            any(
                _action_covers(p, action) or _action_covers(p, needed)
                for p in _as_set(s.get("Action"))
            )
            and any(_action_covers(r, target) for r in _as_set(s.get("Resource")))
            for s in allows
        )
        if not granted:
            missing.append(action)
    return missing


def lifecycle_rule(
    rule_id: str,
    prefix: str,
    *,
    noncurrent_days: int = DEFAULT_NONCURRENT_DAYS,
    abort_multipart_days: int = DEFAULT_ABORT_MULTIPART_DAYS,
) -> dict[str, Any]:
    """Expire noncurrent versions, remove delete markers that no longer cover a version
    (``ExpiredObjectDeleteMarker``) and abort stale multipart uploads under `prefix`."""
    return {
        "ID": rule_id,
        "Status": "Enabled",
        "Filter": {"Prefix": prefix},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
        "NoncurrentVersionExpiration": {"NoncurrentDays": int(noncurrent_days)},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": int(abort_multipart_days)},
    }


def lifecycle_rule_id(subpath: str) -> str:
    return ("byob-" + subpath.replace("/", "-"))[:255] if subpath else "byob"


def rule_matches(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether a lifecycle rule already does what `desired` does (extra fields are ignored)."""

    def prefix(rule: Mapping[str, Any]) -> str:
        flt = rule.get("Filter")
        if isinstance(flt, Mapping):
            if "Prefix" in flt:
                return str(flt["Prefix"])
            if isinstance(flt.get("And"), Mapping):
                return str(flt["And"].get("Prefix", ""))
            return ""
        return str(rule.get("Prefix", ""))

    return (
        current.get("Status") == desired["Status"]
        and prefix(current) == prefix(desired)
        and bool(current.get("Expiration", {}).get("ExpiredObjectDeleteMarker"))
        == bool(desired.get("Expiration", {}).get("ExpiredObjectDeleteMarker"))
        and current.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
        == desired["NoncurrentVersionExpiration"]["NoncurrentDays"]
        and current.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation")
        == desired["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
    )


def aborts_multipart(rules: Sequence[Mapping[str, Any]], key_prefix: str) -> bool:
    """Whether an enabled rule aborts incomplete multipart uploads for keys under `key_prefix`."""
    for rule in rules:
        if rule.get("Status") != "Enabled" or not rule.get("AbortIncompleteMultipartUpload"):
            continue
        flt = rule.get("Filter") or {}
        rule_prefix = str(flt.get("Prefix", rule.get("Prefix", "")) or "")
        if key_prefix.startswith(rule_prefix):
            return True
    return False
