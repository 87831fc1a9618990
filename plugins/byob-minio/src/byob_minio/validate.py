"""Validation of an S3-compatible store (docs/concepts.md#validation): one finding per check, each with a fix hint.

Check ids are ``<provider>.<check>`` (``minio.versioning``, ``coreweave.cors``). What the
server lacks is a finding, never a crash: MinIO's missing per-bucket CORS API is a WARN
naming the server-side setting (the preflight check then tells whether that setting
works); versioning off is a FAIL whose hint says a single-drive MinIO cannot have it; an
AWS KMS key ARN is a WARN pointing at KES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from byob_aws import documents
from byob_aws import validate as aws_validate
from byob_aws.provision import (
    default_encryption,
    desired_lifecycle,
    encryption_wanted,
    int_setting,
    kms_key_arn,
    settings_of,
)
from byob_aws.s3 import client, error_code, error_message
from byob_core.errors import ByobError
from byob_core.findings import Finding, Status

from byob_minio import quirks

if TYPE_CHECKING:
    from byob_core.provider import ValidateContext
    from byob_core.stores import Store

    from byob_minio.provider import S3CompatibleProvider


class _Unavailable(Exception):
    """The server has no such API (NotImplemented)."""


class Validator:
    """The checks of one store, in order."""

    def __init__(
        self, provider: S3CompatibleProvider, store: Store, context: ValidateContext
    ) -> None:
        self.provider = provider
        self.advice = provider.advice
        #: The server family (`quirks.identify`), known once the bucket check has an answer.
        self.family = self.advice.family
        self.store = store
        self.context = context
        self.settings = settings_of(store)
        self.prefix = provider.check_prefix
        self.server = provider.server
        self.s3 = client(store)
        self.bucket = store.bucket

    def run(self) -> list[Finding]:
        reachable = self._bucket()
        findings = [reachable]
        checks: list[tuple[str, Callable[[], Finding]]] = [
            ("region", self._region),
            ("versioning", self._versioning),
            ("encryption", self._encryption),
            ("cors", self._cors),
            ("public", self._public),
            ("lifecycle", self._lifecycle),
            ("access", self._access),
            ("signed-url", self._signed_round_trip),
            ("preflight", self._preflight),
        ]
        if kms_key_arn(self.store, self.settings) and not self.provider.has_kms:
            checks.insert(3, ("kms", self._kms))
        # What the service does not offer (S3CompatibleProvider's switches) is not checked.
        lacks = {
            "versioning": not self.provider.has_versioning,
            "public": not self.provider.has_policies,
        }
        what = {"versioning": "bucket versioning", "public": "bucket policies"}
        checks = [
            (name, (lambda n=name: self._skip(n, f"{self.server} offers no {what[n]}")))
            if lacks.get(name)
            else (name, check)
            for name, check in checks
        ]
        for name, check in checks:
            if reachable.status is Status.FAIL:
                findings.append(self._skip(name, "the bucket cannot be reached"))
            else:
                findings.append(check())
        findings = self._settle_region(findings)
        return [f if f.provider else _tagged(f, self.provider.spec.name) for f in findings]

    def _settle_region(self, findings: list[Finding]) -> list[Finding]:
        """A region the server does not echo is a WARN when signing for the store's works.

        Ceph RGW reports its zonegroup (``default``) as the location and accepts requests
        signed for ``us-east-1``; what matters is that signed requests are accepted: the
        signed round trip when it ran, else a signed read of a missing key (404 means the
        signature was accepted; a wrong region gets 403).
        """
        checks = {f.check: i for i, f in enumerate(findings)}
        at = checks.get(self._id("region"))
        if at is None or not findings[at].details.get("mismatch"):
            return findings
        region = findings[at]
        signed = findings[checks[self._id("signed-url")]]
        if signed.status is Status.PASS:
            how = "a signed PUT then GET for it round-trips"
        elif signed.status is Status.SKIP and self._signed_read_accepted():
            how = "a read signed for it is accepted"
        else:
            return findings
        location, wanted = region.details["location"], self.store.region
        findings[at] = Finding.warned(
            region.check,
            f"the server reports region {location!r}, not the store's {wanted}, "
            f"but {how}: an S3-compatible server need not echo the region it signs for",
            hint=f"keep region = {wanted!r} (signing works); set region = {location!r} only "
            "if the server's administrator says requests must be signed for it",
            location=location,
        )
        return findings

    def _signed_read_accepted(self) -> bool:
        from byob_aws.s3 import presigner
        from byob_core.signing import SignRequest, utcnow

        key = aws_validate.probe_key(self.store, "region")
        [get] = presigner(self.store, self.provider.spec.user_param).sign_many(
            [SignRequest(key=key, method="GET", at=utcnow())]
        )
        try:
            status, _, _ = aws_validate.http("GET", get.url, None, dict(get.headers))
        except OSError:
            return False
        return status == 404

    # -- helpers --------------------------------------------------------------------------
    def _id(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def _skip(self, name: str, why: str) -> Finding:
        return Finding.skipped(self._id(name), why)

    def _get(self, call: Callable[[], Any], missing: frozenset[str]) -> Any:
        """`call()`; None when the bucket lacks the setting; raises `_Unavailable` for NotImplemented."""
        try:
            return call()
        except Exception as exc:
            if error_code(exc) in missing:
                return None
            if quirks.is_not_implemented(exc):
                raise _Unavailable(quirks.reason(exc)) from exc
            raise

    def _error(self, name: str, what: str, exc: BaseException) -> Finding:
        return Finding.failed(
            self._id(name),
            f"cannot read the {what}: {error_message(exc)}",
            hint="the store's keys need s3:GetBucket* permissions on the bucket",
        )

    # -- checks ---------------------------------------------------------------------------
    def _identify(self, answer_or_exc: Any) -> None:
        """Tell the server family from a response, and take that family's advice."""
        self.family = quirks.identify(
            quirks.response_headers(answer_or_exc), endpoint=self.store.endpoint
        )
        self.advice = quirks.advice_for(
            self.family,
            provider=self.provider.spec.name,
            endpoint=self.store.endpoint_url or "",
        )

    def _bucket(self) -> Finding:
        try:
            answer = self.s3.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            self._identify(exc)
            code = error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return Finding.failed(
                    self._id("bucket"),
                    f"bucket {self.bucket} does not exist on {self.store.endpoint}",
                    hint="create it with `python -m byob_core provision`",
                )
            return Finding.failed(
                self._id("bucket"),
                f"cannot reach bucket {self.bucket} on {self.store.endpoint_url}: {error_message(exc)}",
                hint="check the endpoint, the tls flag, the region and the access keys",
            )
        self._identify(answer)
        return Finding.passed(
            self._id("bucket"),
            f"credentials reach bucket {self.bucket} on {self.store.endpoint_url} "
            f"(it answers as {quirks.FAMILY_NAMES[self.family]})",
            endpoint=self.store.endpoint_url,
            path_style=self.store.path_style,
            server=self.family,
        )

    def _region(self) -> Finding:
        try:
            answer = self._get(lambda: self.s3.get_bucket_location(Bucket=self.bucket), frozenset())
        except _Unavailable as exc:
            return self._skip("region", f"the server does not report bucket locations ({exc})")
        except Exception as exc:
            return self._error("region", "bucket location", exc)
        location = (answer or {}).get("LocationConstraint") or "us-east-1"
        wanted = self.store.region
        if wanted is None:
            return Finding.warned(
                self._id("region"),
                f"the store names no region; the server reports {location}",
                hint=f"set region = {location!r} for the store (SigV4 signs with the region)",
                location=location,
            )
        if location != wanted:
            # `_settle_region` makes this a WARN if requests signed for `wanted` work.
            return Finding.failed(
                self._id("region"),
                f"the server's region is {location}, the store says {wanted}, and requests "
                "signed for it were not shown to work",
                hint=f"set region = {location!r} for the store (SigV4 signs with the region)",
                location=location,
                mismatch=True,
            )
        return Finding.passed(self._id("region"), f"region {location} matches", location=location)

    def _versioning(self) -> Finding:
        try:
            answer = self._get(
                lambda: self.s3.get_bucket_versioning(Bucket=self.bucket), frozenset()
            )
        except _Unavailable as exc:
            return Finding.failed(
                self._id("versioning"),
                f"the server has no versioning ({exc}): {self.advice.versioning_reason}",
                hint=" ; ".join(self.advice.versioning_steps(self.bucket)),
            )
        except Exception as exc:
            return self._error("versioning", "versioning status", exc)
        status = (answer or {}).get("Status")
        if status == "Enabled":
            return Finding.passed(self._id("versioning"), "versioning is enabled")
        return Finding.failed(
            self._id("versioning"),
            f"versioning is {status or 'off'}: deleted or overwritten objects cannot be recovered",
            hint=f"run `python -m byob_core provision`; if the server refuses, {self.advice.versioning_reason} "
            f"(then: {' ; '.join(self.advice.versioning_steps(self.bucket))})",
            status=status,
        )

    def _encryption(self) -> Finding:
        if (
            not encryption_wanted(self.settings)
            and not self.settings.get("kes_key")
            and not kms_key_arn(self.store, self.settings)
        ):
            return self._skip("encryption", "default encryption not asked for (encryption = none)")
        try:
            answer = self._get(
                lambda: self.s3.get_bucket_encryption(Bucket=self.bucket),
                quirks.MISSING_ENCRYPTION,
            )
        except _Unavailable as exc:
            return Finding.warned(
                self._id("encryption"),
                f"the server has no default encryption ({exc})",
                hint=" ; ".join(self.advice.sse_s3_steps(self.bucket)),
            )
        except Exception as exc:
            return self._error("encryption", "default encryption", exc)
        rules = quirks.encryption_rules(answer)
        if rules is quirks.UNEXPECTED:
            return Finding.warned(
                self._id("encryption"),
                "the server's answer to GET ?encryption is not an encryption configuration: "
                "it does not report default encryption, so byob cannot tell whether objects "
                "are encrypted at rest",
                hint="check the server's encryption settings by hand; "
                + " ; ".join(self.advice.sse_s3_steps(self.bucket)),
            )
        current = default_encryption(rules or [])
        if current is None:
            return Finding.warned(
                self._id("encryption"),
                "no default encryption: objects are stored as sent",
                hint="run `python -m byob_core provision`, or "
                + " ; ".join(self.advice.sse_s3_steps(self.bucket)),
            )
        kes_key = self.settings.get("kes_key")
        if kes_key and current.get("KMSMasterKeyID") != kes_key:
            return Finding.failed(
                self._id("encryption"),
                f"default encryption uses {current.get('KMSMasterKeyID') or current.get('SSEAlgorithm')}, "
                f"not KES key {kes_key}",
                hint=f"mc encrypt set sse-kms {kes_key} {quirks.ALIAS}/{self.bucket}",
                encryption=current,
            )
        return Finding.passed(
            self._id("encryption"),
            f"default encryption {current.get('SSEAlgorithm')}"
            + (f" with key {current['KMSMasterKeyID']}" if current.get("KMSMasterKeyID") else ""),
            encryption=current,
        )

    def _kms(self) -> Finding:
        return Finding.warned(
            self._id("kms"),
            f"a KMS key ARN is configured, but {self.advice.server} has no AWS KMS: the ARN is not used",
            hint=" ; ".join(self.advice.kes_steps(self.bucket, self.settings.get("kes_key"))),
        )

    def _cors(self) -> Finding:
        max_age = int_setting(self.settings, "cors_max_age", documents.DEFAULT_CORS_MAX_AGE)
        try:
            answer = self._get(
                lambda: self.s3.get_bucket_cors(Bucket=self.bucket), quirks.MISSING_CORS
            )
        except _Unavailable:
            return Finding.warned(
                self._id("cors"),
                self.advice.cors_server_side,
                hint=" ; ".join(self.advice.cors_steps(max_age)),
            )
        except Exception as exc:
            return self._error("cors", "CORS rules", exc)
        rules = (answer or {}).get("CORSRules", [])
        problems = documents.cors_problems(rules)
        if not rules and not self.advice.bucket_cors:
            # MinIO releases that lack the API answer an empty configuration rather than
            # NotImplemented; their CORS is the server-wide setting, which the preflight tests.
            return Finding.warned(
                self._id("cors"),
                "no per-bucket CORS rules: " + self.advice.cors_server_side,
                hint="run `python -m byob_core provision`; if the server refuses, "
                + " ; ".join(self.advice.cors_steps(max_age)),
            )
        if problems:
            return Finding.failed(
                self._id("cors"),
                f"CORS rules: {'; '.join(problems)}",
                hint="run `python -m byob_core provision` (browsers upload with PUT and read ETag)",
                rules=rules,
            )
        return Finding.passed(
            self._id("cors"), "CORS allows GET, HEAD, PUT from * and exposes ETag", rules=rules
        )

    def _public(self) -> Finding:
        try:
            answer = self._get(
                lambda: self.s3.get_bucket_policy(Bucket=self.bucket), quirks.MISSING_POLICY
            )
        except _Unavailable as exc:
            return self._skip("public", f"the server has no bucket policies ({exc})")
        except Exception as exc:
            return self._error("public", "bucket policy", exc)
        policy = documents.parse_policy((answer or {}).get("Policy"))
        anyone = quirks.anonymous_grants(policy)
        if anyone:
            return Finding.failed(
                self._id("public"),
                f"the bucket policy lets anyone {', '.join(anyone)}",
                hint=f"mc anonymous set none {quirks.ALIAS}/{self.bucket}"
                if self.advice.family == quirks.MINIO_FAMILY
                else "remove the statements with Principal '*' from the bucket policy",
                actions=anyone,
            )
        return Finding.passed(self._id("public"), "no anonymous access through the bucket policy")

    def _lifecycle(self) -> Finding:
        desired = desired_lifecycle(self.store, self.settings)
        steps = self.advice.lifecycle_steps(
            self.bucket, self.store.prefix, desired["NoncurrentVersionExpiration"]["NoncurrentDays"]
        )
        try:
            answer = self._get(
                lambda: self.s3.get_bucket_lifecycle_configuration(Bucket=self.bucket),
                quirks.MISSING_LIFECYCLE,
            )
        except _Unavailable as exc:
            return Finding.warned(
                self._id("lifecycle"),
                f"the server has no lifecycle rules ({exc})",
                hint=" ; ".join(steps),
            )
        except Exception as exc:
            return self._error("lifecycle", "lifecycle rules", exc)
        rules = (answer or {}).get("Rules", [])
        missing = []
        if not documents.aborts_multipart(rules, self.store.prefix):
            missing.append("abort incomplete multipart uploads")
        expires = any(
            r.get("Status") == "Enabled" and r.get("NoncurrentVersionExpiration") for r in rules
        )
        if not expires:
            missing.append("expire noncurrent versions")
        if missing:
            return Finding.warned(
                self._id("lifecycle"),
                f"no lifecycle rule to {' or '.join(missing)}",
                hint="run `python -m byob_core provision`, or " + " ; ".join(steps),
            )
        return Finding.passed(
            self._id("lifecycle"),
            "lifecycle rules expire noncurrent versions and abort stale uploads",
        )

    def _access(self) -> Finding:
        principal = self.context.principal
        if not principal:
            return self._skip("access", "no platform principal configured")
        if self.advice.family == quirks.MINIO_FAMILY:
            why = (
                "MinIO grants access through the IAM policy of the user whose keys the platform "
                "holds, which the S3 API cannot read; the probe checks these keys"
            )
        else:
            why = f"{self.advice.server} access policies cannot be read through the S3 API"
        return self._skip("access", f"cannot tell what {principal} may do: {why}")

    def _signed_round_trip(self) -> Finding:
        """byob-aws's PUT then GET through URLs of our own signer, over plain HTTP."""
        if self.context.read_only:
            return self._skip("signed-url", "read-only validation: no writes")
        try:
            failure = aws_validate.signed_round_trip(self.provider, self.store, self.s3)
        except ByobError as exc:
            return self._signed_failed(f"cannot sign: {exc}")
        if failure is not None:
            return self._signed_failed(failure[1])
        return Finding.passed(self._id("signed-url"), "a signed PUT then GET round-trips over HTTP")

    def _signed_failed(self, message: str) -> Finding:
        return Finding.failed(
            self._id("signed-url"),
            message,
            hint="check the region, the endpoint and path-style addressing the store signs for",
        )

    def _preflight(self) -> Finding:
        """byob-aws's OPTIONS with an Origin on a key that does not exist; MinIO's hint."""
        origin = aws_validate.PREFLIGHT_ORIGIN
        try:
            status, answer = aws_validate.preflight_request(self.store)
        except OSError as exc:
            return Finding.failed(
                self._id("preflight"),
                f"the CORS preflight failed: {type(exc).__name__}",
                hint="check the endpoint and the network",
            )
        allowed = answer.get("access-control-allow-origin", "")
        if aws_validate.preflight_allowed(status, answer):
            return Finding.passed(
                self._id("preflight"),
                f"a CORS preflight from {origin} is allowed",
                allow_methods=answer.get("access-control-allow-methods", ""),
            )
        max_age = int_setting(self.settings, "cors_max_age", documents.DEFAULT_CORS_MAX_AGE)
        hint = " ; ".join(self.advice.preflight_steps(max_age))
        return Finding.failed(
            self._id("preflight"),
            f"a CORS preflight from {origin} got HTTP {status} "
            f"with Access-Control-Allow-Origin {allowed or 'absent'}",
            hint=hint,
        )


def _tagged(finding: Finding, provider: str) -> Finding:
    import attrs

    return attrs.evolve(finding, provider=provider)
