"""The bottom of byob-aws: what botocore's errors say, read without importing botocore.

`byob_aws.s3` (connection, data path), `byob_aws.credentials`, provisioning and validation
all read errors through these; this module imports nothing of byob-aws.
"""

from __future__ import annotations

#: Error codes that mean "these credentials may not do this".
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AllAccessDisabled",
        "AccountProblem",
        "403",
    }
)
#: Error codes of S3-compatible servers that lack an API (MinIO answers bucket CORS so).
UNSUPPORTED_CODES = frozenset({"NotImplemented", "XNotImplemented", "501"})


def error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore `ClientError` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    """A short, secret-free description of a botocore error."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        code, message = err.get("Code", ""), err.get("Message", "")
        return f"{code}: {message}".strip(": ") or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
