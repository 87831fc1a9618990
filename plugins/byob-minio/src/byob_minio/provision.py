"""Provisioning of an S3-compatible bucket: what byob-aws provisions
(docs/providers/aws.md#what-it-provisions) as far as the server has the APIs.

Each setting is one named change. What the server refuses (MinIO's per-bucket CORS,
versioning on a single drive, encryption without a KMS, lifecycle rules it cannot parse)
becomes a MANUAL change with the server's reason and the ``mc`` steps that make it,
never an exception; what MinIO does not express through the S3 API at all (AWS KMS keys,
principals in bucket policies) is a MANUAL change from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
from byob_aws import documents
from byob_aws import provision as aws_provision
from byob_aws.provision import (
    default_encryption,
    desired_lifecycle,
    encryption_wanted,
    int_setting,
    kms_key_arn,
    settings_of,
)
from byob_aws.s3 import error_code, translate
from byob_core.errors import ProvisionError
from byob_core.plans import Action, Change, Plan

from byob_minio import quirks

if TYPE_CHECKING:
    from byob_core.provider import ProvisionContext
    from byob_core.stores import Store

    from byob_minio.provider import S3CompatibleProvider

_MISSING_BUCKET = frozenset({"NoSuchBucket", "404", "NotFound"})


class Provisioner(aws_provision.Provisioner):
    """One plan (or one apply) for one store. `shown` is the store as configured.

    byob-aws's `Provisioner` with MinIO's steps for the bucket, versioning, encryption and
    access; the CORS and lifecycle steps are byob-aws's, with MinIO's refusals turned into
    MANUAL changes by `unsupported` and `refused`.
    """

    def __init__(
        self,
        provider: S3CompatibleProvider,
        store: Store,
        context: ProvisionContext,
        *,
        shown: Store | None = None,
    ) -> None:
        super().__init__(provider, store, context)
        self.provider: S3CompatibleProvider = provider
        self.advice = provider.advice
        self.shown = shown or store
        self.apply = context.apply
        self.settings = settings_of(store, context)

    @property
    def exists(self) -> bool:
        return self.bucket_exists

    @exists.setter
    def exists(self, value: bool) -> None:
        self.bucket_exists = value

    def steps(self) -> list[Callable[[], list[Change]]]:
        steps = [
            self.bucket_step,
            self.versioning,
            self.encryption,
            self.cors,
            self.lifecycle,
            self.access,
        ]
        if self.settings.get("deny_insecure_transport"):
            steps.append(self.tls)
        if self.provider.has_public_access_block:
            steps.insert(3, super().public_access_block)
        return steps

    def run(self) -> Plan:
        try:
            return attrs.evolve(super().run(), store=self.shown)
        except ProvisionError as exc:
            exc.plan = attrs.evolve(exc.plan, store=self.shown)
            raise

    def bucket_step(self) -> list[Change]:
        return [self._bucket()]

    def versioning(self) -> list[Change]:
        if not self.provider.has_versioning:
            return [
                Change(
                    name="versioning",
                    action=Action.NONE,
                    summary=f"{self.provider.server} offers no bucket versioning: not asked for",
                )
            ]
        return [self._versioning()]

    def encryption(self) -> list[Change]:
        if self.provider.has_kms:
            # SSE-KMS with the configured key, as byob-aws asks it of AWS.
            self.kms_key_arn = kms_key_arn(self.store, self.settings)
            return super().encryption()
        return [self._encryption()]

    def access(self) -> list[Change]:
        return [self._access()]

    def tls(self) -> list[Change]:
        return [self._tls()]

    # -- MinIO's refusals of byob-aws's steps ---------------------------------------------
    def is_unsupported(self, exc: BaseException) -> bool:
        return quirks.is_not_implemented(exc)

    def unsupported(self, name: str, exc: BaseException) -> Change:
        if name == "cors":
            return self._cors_server_side()
        if name == "lifecycle":
            return self._lifecycle_manual("the server has no lifecycle API")
        return super().unsupported(name, exc)

    def refused(self, change: Change, exc: BaseException) -> Change | None:
        if change.name == "cors" and quirks.refused(exc, quirks.NOT_IMPLEMENTED):
            return self._cors_server_side()
        if change.name == "lifecycle" and quirks.refused(exc, quirks.LIFECYCLE_REFUSED):
            return self._lifecycle_manual(
                f"the server refused the lifecycle rule ({quirks.reason(exc)})", change.current
            )
        return super().refused(change, exc)

    # -- helpers --------------------------------------------------------------------------
    def _read(self, what: str, call: Callable[[], Any], missing: frozenset[str]) -> Any:
        """`call()`, None when the bucket lacks the setting; `NotImplemented` when the server lacks the API."""
        if not self.exists:
            return None
        try:
            return call()
        except Exception as exc:
            if error_code(exc) in missing:
                return None
            if quirks.is_not_implemented(exc):
                return NotImplemented
            raise translate(exc, f"reading the {what} of the bucket", self.store) from exc

    def _applied(
        self,
        change: Change,
        do: Callable[[], object],
        refused: frozenset[str],
        manual: Callable[[BaseException], Change],
    ) -> Change:
        """Apply `change` when asked; a refusal by the server turns it into `manual(exc)`."""
        if not self.apply or change.action not in (Action.CREATE, Action.UPDATE):
            return change
        try:
            do()
        except Exception as exc:
            if quirks.refused(exc, refused):
                return manual(exc)
            raise translate(exc, f"applying {change.name}", self.store) from exc
        return attrs.evolve(change, applied=True)

    # -- the changes ----------------------------------------------------------------------
    def _identify(self, answer_or_exc: Any) -> None:
        """Tell the server family from a response, and take that family's advice."""
        family = quirks.identify(
            quirks.response_headers(answer_or_exc), endpoint=self.store.endpoint
        )
        self.advice = quirks.advice_for(
            family, provider=self.provider.spec.name, endpoint=self.store.endpoint_url or ""
        )

    def _bucket(self) -> Change:
        try:
            self._identify(self.s3.head_bucket(Bucket=self.bucket))
            self.exists = True
        except Exception as exc:
            self._identify(exc)
            if error_code(exc) not in _MISSING_BUCKET:
                raise translate(exc, "checking the bucket", self.store) from exc
        if self.exists:
            return Change(
                name="bucket",
                action=Action.NONE,
                summary=f"bucket {self.bucket} exists",
                current=self.bucket,
                desired=self.bucket,
            )
        region = self.store.region or "us-east-1"
        change = Change(
            name="bucket",
            action=Action.CREATE,
            summary=f"create bucket {self.bucket} on {self.store.endpoint} (region {region})",
            current=None,
            desired={"bucket": self.bucket, "region": region},
        )

        if not self.apply:
            return change
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.s3.create_bucket(**kwargs)
        except Exception as exc:
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise translate(exc, f"creating bucket {self.bucket}", self.store) from exc
        self.exists = True
        return attrs.evolve(change, applied=True)

    def _versioning(self) -> Change:
        current = self._read(
            "versioning", lambda: self.s3.get_bucket_versioning(Bucket=self.bucket), frozenset()
        )
        if current is NotImplemented:
            return self._versioning_refused("the server has no versioning API (NotImplemented)")
        status = (current or {}).get("Status")
        if status == "Enabled":
            return Change(
                name="versioning",
                action=Action.NONE,
                summary="versioning is enabled",
                current=status,
                desired="Enabled",
            )
        change = Change(
            name="versioning",
            action=Action.UPDATE,
            summary="enable versioning (garbage collection and recovery rely on it)",
            current=status,
            desired="Enabled",
        )
        return self._applied(
            change,
            lambda: self.s3.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
            quirks.VERSIONING_REFUSED,
            lambda exc: self._versioning_refused(quirks.reason(exc), current=status),
        )

    def _versioning_refused(self, why: str, current: Any = None) -> Change:
        return Change(
            name="versioning",
            action=Action.MANUAL,
            summary=f"the server refused versioning ({why}): {self.advice.versioning_reason}",
            current=current,
            desired="Enabled",
            steps=self.advice.versioning_steps(self.bucket),
        )

    def _encryption(self) -> Change:
        arn = kms_key_arn(self.store, self.settings)
        kes_key = self.settings.get("kes_key")
        if not encryption_wanted(self.settings) and not kes_key and not arn:
            # Not even read: some servers answer GET ?encryption with something else.
            return Change(
                name="encryption",
                action=Action.NONE,
                desired=None,
                summary="default encryption not asked for (encryption = none)",
            )
        answer = self._read(
            "default encryption",
            lambda: self.s3.get_bucket_encryption(Bucket=self.bucket),
            quirks.MISSING_ENCRYPTION,
        )
        rules = quirks.encryption_rules(answer)
        if rules is quirks.UNEXPECTED:
            return self._encryption_unreadable(kes_key, arn)
        current = None if rules in (None, NotImplemented) else default_encryption(rules)
        if kes_key:
            desired = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": str(kes_key)}
            satisfied = current == desired
            summary = f"default encryption SSE-KMS with KES key {kes_key}"
        elif arn:
            # No KMS calls: an AWS key ARN means nothing to MinIO; a person picks a KES key.
            satisfied = bool(current and current.get("SSEAlgorithm") == "aws:kms")
            if not satisfied:
                return Change(
                    name="encryption",
                    action=Action.MANUAL,
                    summary=(
                        f"{self.provider.server} encrypts with KES keys by name, not AWS KMS key "
                        "ARNs: create a KES key and make it the bucket default (SSE-KMS)"
                        if self.advice.family == quirks.MINIO_FAMILY
                        else f"{self.advice.server} has no AWS KMS: the key ARN does not apply"
                    ),
                    current=current,
                    desired={"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "<kes-key-name>"},
                    steps=self.advice.kes_steps(self.bucket, None),
                )
            desired = current
            summary = "default encryption SSE-KMS (a KES key; the AWS KMS key ARN does not apply)"
        else:
            desired = {"SSEAlgorithm": "AES256"}
            satisfied = current is not None  # any default encryption (SSE-S3 or SSE-KMS) will do
            summary = "default encryption SSE-S3 (AES256)"
        if satisfied:
            return Change(
                name="encryption",
                action=Action.NONE,
                summary=summary,
                current=current,
                desired=desired,
            )
        change = Change(
            name="encryption",
            action=Action.CREATE if current is None else Action.UPDATE,
            summary=summary,
            current=current,
            desired=desired,
        )
        document = {"Rules": [{"ApplyServerSideEncryptionByDefault": desired}]}
        return self._applied(
            change,
            lambda: self.s3.put_bucket_encryption(
                Bucket=self.bucket, ServerSideEncryptionConfiguration=document
            ),
            quirks.ENCRYPTION_REFUSED,
            lambda exc: Change(
                name="encryption",
                action=Action.MANUAL,
                summary=f"the server refused default encryption ({quirks.reason(exc)}): "
                "it needs a KMS (KES) configured",
                current=current,
                desired=desired,
                steps=self.advice.kes_steps(self.bucket, kes_key)
                if kes_key
                else self.advice.sse_s3_steps(self.bucket),
            ),
        )

    def _encryption_unreadable(self, kes_key: Any, arn: str | None) -> Change:
        """GET ?encryption answered with no encryption configuration (Ceph 16.2 sends a
        bucket listing): the current setting is unknown, so a person checks it."""
        return Change(
            name="encryption",
            action=Action.MANUAL,
            summary="the server's answer to GET ?encryption is not an encryption configuration "
            "(it has no Rules): this server does not report default encryption, so byob "
            "cannot tell or set it",
            current=None,
            desired={"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": str(kes_key)}
            if kes_key
            else {"SSEAlgorithm": "AES256"},
            steps=self.advice.kes_steps(self.bucket, kes_key)
            if kes_key or arn
            else self.advice.sse_s3_steps(self.bucket),
        )

    def _cors_server_side(self) -> Change:
        max_age = int_setting(self.settings, "cors_max_age", documents.DEFAULT_CORS_MAX_AGE)
        desired = documents.cors_rules(max_age)
        return Change(
            name="cors",
            action=Action.MANUAL,
            summary=self.advice.cors_server_side,
            current=None,
            desired=desired,
            documents={"CORSRules": desired},
            steps=self.advice.cors_steps(max_age),
        )

    def _lifecycle_manual(self, why: str, current: Any = None) -> Change:
        desired = desired_lifecycle(self.store, self.settings)
        return Change(
            name="lifecycle",
            action=Action.MANUAL,
            summary=why,
            current=current,
            desired=desired,
            documents={"Rules": [desired]},
            steps=self.advice.lifecycle_steps(
                self.bucket,
                self.store.prefix,
                desired["NoncurrentVersionExpiration"]["NoncurrentDays"],
            ),
        )

    def _access(self) -> Change:
        principal = self.context.principal
        policy = quirks.user_policy(self.bucket)
        if not principal:
            return Change(
                name="access",
                action=Action.NONE,
                summary="no platform principal configured: the platform uses the store's access keys",
                documents={"user_policy": policy},
            )
        if self.advice.family == quirks.MINIO_FAMILY:
            summary = (
                f"grant {principal} the platform's bucket actions (docs/providers/aws.md#permissions): "
                "MinIO bucket policies name no principal "
                "but '*' (anonymous), so attach this IAM policy to the MinIO user whose access "
                "keys the platform holds"
            )
        else:
            summary = (
                f"grant {principal} the platform's bucket actions (docs/providers/aws.md#permissions) "
                f"through {self.advice.server}'s access "
                "policies for the keys the platform holds"
            )
        return Change(
            name="access",
            action=Action.MANUAL,
            summary=summary,
            desired={"principal": principal, "policy": quirks.policy_name(self.bucket)},
            documents={"user_policy": policy},
            steps=self.advice.access_steps(self.bucket, principal),
        )

    def _tls(self) -> Change:
        if self.store.tls:
            return Change(
                name="deny-insecure-transport",
                action=Action.NONE,
                summary="the store is reached over TLS",
                current=True,
                desired=True,
            )
        return Change(
            name="deny-insecure-transport",
            action=Action.MANUAL,
            summary="the store is configured without TLS: serve the endpoint over HTTPS only",
            current=False,
            desired=True,
            steps=[
                "give MinIO a certificate (~/.minio/certs/public.crt, private.key)",
                "set tls = true for the store",
            ],
        )
