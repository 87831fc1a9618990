"""Provisioning of an S3 bucket (and its KMS key) as docs/providers/aws.md#what-it-provisions says, as a plan of named changes.

Each step reads the current setting, compares it with the desired document and, when
``context.apply`` is set, writes it. Steps are methods of `Provisioner`, so an S3-compatible
provider (byob-minio) can subclass it and replace the steps its server does differently.
A step that the credentials may not perform becomes a MANUAL change with the AWS CLI
command a person can run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from byob_core import secrets
from byob_core.errors import ByobError, ProvisionError
from byob_core.plans import Action, Change, Plan

from byob_aws import documents as docs
from byob_aws.s3 import (
    ACCESS_CODES,
    UNSUPPORTED_CODES,
    client,
    error_code,
    error_message,
    translate,
)
from byob_aws.sigv4 import ambient_region

if TYPE_CHECKING:
    from byob_core.provider import ProvisionContext
    from byob_core.stores import Store

    from byob_aws.provider import S3Provider

_MISSING = object()


def setting(store: Store, settings: Mapping[str, Any], name: str, default: Any) -> Any:
    """A provider setting: the context's, else the store's options, else `default`."""
    if name in settings and settings[name] is not None:
        return settings[name]
    value = store.options.get(name)
    return default if value is None else value


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def settings_of(store: Store, context: Any = None) -> dict[str, Any]:
    """Provider options: the store's, overridden by the context's settings that are set."""
    merged = dict(store.options)
    if context is not None:
        merged.update({k: v for k, v in context.settings.items() if v is not None})
    return merged


def int_setting(settings: Mapping[str, Any], name: str, default: int) -> int:
    value = settings.get(name)
    return default if value in (None, "") else int(value)


def desired_lifecycle(store: Store, settings: Mapping[str, Any]) -> dict[str, Any]:
    """byob's lifecycle rule for the store's prefix, with the configured numbers of days."""
    return docs.lifecycle_rule(
        docs.lifecycle_rule_id(store.subpath),
        store.prefix,
        noncurrent_days=int_setting(settings, "noncurrent_days", docs.DEFAULT_NONCURRENT_DAYS),
        abort_multipart_days=int_setting(
            settings, "abort_multipart_days", docs.DEFAULT_ABORT_MULTIPART_DAYS
        ),
    )


def kms_key_arn(store: Store, settings: Mapping[str, Any]) -> str | None:
    """The KMS key the store names (its field, else the ``kms_key_arn`` setting)."""
    return store.kms_key_arn or settings.get("kms_key_arn") or None


def encryption_wanted(settings: Mapping[str, Any]) -> bool:
    """False when the ``encryption`` setting turns default encryption off."""
    value = settings.get("encryption")
    return str(value).lower() not in ("none", "false", "off", "0") if value is not None else True


def default_encryption(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``ApplyServerSideEncryptionByDefault`` of the first rule (None without one)."""
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault")
        if default:
            return dict(default)
    return None


class Provisioner:
    """One provisioning run (``plan`` or ``provision``) of one store."""

    def __init__(self, provider: S3Provider, store: Store, context: ProvisionContext) -> None:
        self.provider = provider
        self.store = store
        self.context = context
        self.bucket = store.bucket
        self.region = store.region or ambient_region()
        self.principal = context.principal
        self.s3 = client(store)
        #: False until the bucket is known to exist (then the later steps read it).
        self.bucket_exists = False
        #: The KMS key the bucket's default encryption uses (None: SSE-S3, or not created yet).
        self.kms_key_arn: str | None = None
        self.kms_placeholder: str | None = None

    # -- settings -----------------------------------------------------------------------
    def setting(self, name: str, default: Any) -> Any:
        return setting(self.store, self.context.settings, name, default)

    @property
    def use_kms(self) -> bool:
        value = str(self.setting("encryption", "aws:kms")).lower()
        return self.provider.has_kms and value not in ("aes256", "sse-s3", "s3")

    # -- the run ------------------------------------------------------------------------
    def steps(self) -> list[Callable[[], list[Change]]]:
        """The steps in order; the key before the bucket's encryption, the bucket before the rest."""
        return [
            self.kms_key,
            self.bucket_step,
            self.versioning,
            self.encryption,
            self.public_access_block,
            self.ownership,
            self.cors,
            self.bucket_policy,
            self.lifecycle,
        ]

    def run(self) -> Plan:
        """Every step in order. A step that fails stops the run with `ProvisionError`, whose
        plan holds the changes made so far and the failed step (never a bare exception)."""
        changes: list[Change] = []
        for step in self.steps():
            name = step.__name__.replace("_step", "").replace("_", "-")
            try:
                changes.extend(step())
            except Exception as exc:
                cause = exc.__cause__ or exc
                if self.is_unsupported(cause):
                    # An S3-compatible server without this API: say so, and go on with the rest.
                    changes.append(self.unsupported(name, cause))
                    continue
                raise self.failure(name, changes, exc) from exc
        return Plan(store=self.store, changes=changes, applied=self.context.apply)

    def failure(self, name: str, changes: list[Change], exc: BaseException) -> ProvisionError:
        """The error of step `name` failing after `changes`; its plan shows both."""
        why = str(exc) if isinstance(exc, ByobError) else f"{type(exc).__name__}: {exc}"
        failed = Change(
            name=name,
            action=Action.MANUAL,
            summary=secrets.redact(f"failed: {why}; the steps after it did not run"),
            steps=["fix the cause, then run `python -m byob_core provision` again"],
        )
        plan = Plan(
            store=self.store,
            changes=[*changes, failed],
            applied=self.context.apply,
            failed=name,
        )
        done = [c.name for c in changes if c.applied]
        return ProvisionError(
            f"provisioning step {name!r} failed ({why}); applied before it: "
            + (", ".join(done) or "nothing"),
            plan=plan,
        )

    # -- what an S3-compatible provider (byob-minio) replaces ------------------------------
    def is_unsupported(self, exc: BaseException) -> bool:
        """Whether `exc` says the server has no such API (a step then becomes `unsupported`)."""
        return error_code(exc) in UNSUPPORTED_CODES

    def unsupported(self, name: str, exc: BaseException) -> Change:
        """The change of a step whose API the server lacks."""
        return Change(
            name=name,
            action=Action.MANUAL,
            summary=f"the server does not support this setting ({error_message(exc)})",
            steps=["configure it on the server side, if the server has an equivalent"],
        )

    def refused(self, change: Change, exc: BaseException) -> Change | None:
        """The change to report when applying `change` failed with `exc`; None re-raises.

        Credentials without the permission get a MANUAL change with the same documents and
        the CLI steps a person with the permission can run.
        """
        if error_code(exc) not in ACCESS_CODES:
            return None
        return attrs.evolve(
            change,
            action=Action.MANUAL,
            summary=f"{change.summary}; not allowed for these credentials ({error_message(exc)})",
        )

    # -- helpers ------------------------------------------------------------------------
    def read(self, call: Callable[[], Any], missing: Sequence[str], what: str) -> Any:
        """The result of a read, `_MISSING` when the setting does not exist yet."""
        try:
            return call()
        except Exception as exc:
            if error_code(exc) in missing:
                return _MISSING
            raise translate(exc, f"reading {what}", self.store) from exc

    def change(
        self,
        name: str,
        *,
        needed: bool,
        created: bool,
        summary: str,
        current: Any,
        desired: Any,
        documents: Mapping[str, Any] | None = None,
        apply: Callable[[], None] | None = None,
        steps: Sequence[str] = (),
    ) -> Change:
        """A change named ``<prefix>.<name>``; applied now when the run applies and it is needed."""
        action = Action.NONE if not needed else (Action.CREATE if created else Action.UPDATE)
        applied = False
        if needed and self.context.apply and apply is not None:
            try:
                apply()
            except Exception as exc:
                manual = self.refused(
                    Change(
                        name=name,
                        action=action,
                        summary=summary,
                        current=current,
                        desired=desired,
                        documents=dict(documents or {}),
                        steps=list(steps),
                    ),
                    exc,
                )
                if manual is None:
                    raise translate(exc, f"applying {name}", self.store) from exc
                return manual
            applied = True
        return Change(
            name=name,
            action=action,
            summary=summary,
            current=current,
            desired=desired,
            documents=dict(documents or {}),
            steps=list(steps) if needed else [],
            applied=applied,
        )

    def _cli(self, command: str, document: Any | None = None) -> list[str]:
        lines = [f"aws s3api {command} --bucket {self.bucket}"]
        if document is not None:
            lines[0] += " --cli-input-json file://document.json"
            lines.append("document.json: " + json.dumps(document, sort_keys=True))
        return lines

    # -- KMS ----------------------------------------------------------------------------
    def account_id(self) -> str:
        try:
            return str(client(self.store, "sts").get_caller_identity()["Account"])
        except Exception as exc:
            raise translate(exc, "finding the account (sts:GetCallerIdentity)", self.store) from exc

    @property
    def key_alias(self) -> str:
        return f"alias/byob/{self.bucket}"

    def kms_key(self) -> list[Change]:
        """The KMS key (``ENCRYPT_DECRYPT``) with the two-statement policy, unless SSE-S3."""
        name = "kms-key"
        if not self.use_kms:
            return [
                self.change(
                    name,
                    needed=False,
                    created=False,
                    summary="no KMS key: default encryption is SSE-S3 (AES256)",
                    current=None,
                    desired=None,
                )
            ]
        kms = client(self.store, "kms")
        policy = docs.key_policy(self.account_id(), self.principal)
        configured = self.store.kms_key_arn or self.setting("kms_key_arn", None)
        key_id = configured or self.key_alias
        described = self.read(
            lambda: kms.describe_key(KeyId=key_id), ("NotFoundException",), "the KMS key"
        )
        if described is _MISSING:
            if configured:
                self.kms_key_arn = configured
                return [
                    Change(
                        name=name,
                        action=Action.MANUAL,
                        summary=f"the configured KMS key {configured} does not exist or is not visible",
                        current=None,
                        desired={"key": configured, "usage": "ENCRYPT_DECRYPT"},
                        documents={"key_policy": policy},
                        steps=[
                            "aws kms create-key --key-usage ENCRYPT_DECRYPT --policy file://key_policy.json",
                            "then set kms_key_arn of the store to the new key's ARN",
                        ],
                    )
                ]
            self.kms_placeholder = f"<ARN of the new KMS key {self.key_alias}>"

            def create() -> None:
                created = kms.create_key(
                    Policy=json.dumps(policy),
                    KeyUsage="ENCRYPT_DECRYPT",
                    KeySpec="SYMMETRIC_DEFAULT",
                    Description=f"byob: default encryption of s3://{self.bucket}",
                )
                self.kms_key_arn = created["KeyMetadata"]["Arn"]
                kms.create_alias(
                    AliasName=self.key_alias, TargetKeyId=created["KeyMetadata"]["KeyId"]
                )

            return [
                self.change(
                    name,
                    needed=True,
                    created=True,
                    summary=f"create KMS key {self.key_alias} (ENCRYPT_DECRYPT) with the key policy",
                    current=None,
                    desired={"alias": self.key_alias, "usage": "ENCRYPT_DECRYPT", "policy": policy},
                    documents={"key_policy": policy},
                    apply=create,
                    steps=[
                        "aws kms create-key --key-usage ENCRYPT_DECRYPT --policy file://key_policy.json",
                        f"aws kms create-alias --alias-name {self.key_alias} --target-key-id <KeyId>",
                    ],
                )
            ]
        meta = described["KeyMetadata"]
        self.kms_key_arn = meta["Arn"]
        current_raw = kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"]
        current = docs.parse_policy(current_raw)
        ours = {s["Sid"] for s in policy["Statement"]}
        kept = [s for s in docs.statements(current) if s.get("Sid") not in ours]
        merged = {"Version": docs.POLICY_VERSION, "Statement": kept + policy["Statement"]}
        theirs = [s for s in docs.statements(current) if s.get("Sid") in ours]
        needed = not docs.same_statements(theirs, policy["Statement"])
        return [
            self.change(
                name,
                needed=needed,
                created=False,
                summary=(
                    f"KMS key {meta['Arn']} has the key policy"
                    if not needed
                    else f"update the policy of KMS key {meta['Arn']} (Internal and External statements)"
                ),
                current={"key": meta["Arn"], "usage": meta.get("KeyUsage"), "policy": current},
                desired={"key": meta["Arn"], "usage": "ENCRYPT_DECRYPT", "policy": merged},
                documents={"key_policy": merged},
                apply=lambda: kms.put_key_policy(
                    KeyId=meta["KeyId"], PolicyName="default", Policy=json.dumps(merged)
                ),
                steps=[
                    f"aws kms put-key-policy --key-id {meta['KeyId']} --policy-name default --policy file://key_policy.json"
                ],
            )
        ]

    # -- the bucket ---------------------------------------------------------------------
    def bucket_region(self) -> str:
        location = self.s3.get_bucket_location(Bucket=self.bucket).get("LocationConstraint")
        if not location:
            return "us-east-1"
        return "eu-west-1" if location == "EU" else str(location)

    def bucket_step(self) -> list[Change]:
        """The bucket itself, in the store's region."""
        head = self.read(
            lambda: self.s3.head_bucket(Bucket=self.bucket),
            ("404", "NoSuchBucket", "NotFound"),
            "the bucket",
        )
        if head is _MISSING:

            def create() -> None:
                kwargs: dict[str, Any] = {"Bucket": self.bucket}
                if self.region != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
                self.s3.create_bucket(**kwargs)
                self.bucket_exists = True

            return [
                self.change(
                    "bucket",
                    needed=True,
                    created=True,
                    summary=f"create bucket {self.bucket} in {self.region}",
                    current=None,
                    desired={"bucket": self.bucket, "region": self.region},
                    apply=create,
                    steps=[
                        f"aws s3api create-bucket --bucket {self.bucket} --region {self.region}"
                    ],
                )
            ]
        self.bucket_exists = True
        region = self.bucket_region()
        if region != self.region:
            return [
                Change(
                    name="bucket",
                    action=Action.MANUAL,
                    summary=f"bucket {self.bucket} is in {region}, not in the store's region {self.region}",
                    current={"bucket": self.bucket, "region": region},
                    desired={"bucket": self.bucket, "region": self.region},
                    steps=[f"set the store's region to {region}, or use a bucket in {self.region}"],
                )
            ]
        return [
            self.change(
                "bucket",
                needed=False,
                created=False,
                summary=f"bucket {self.bucket} exists in {region}",
                current={"bucket": self.bucket, "region": region},
                desired={"bucket": self.bucket, "region": self.region},
            )
        ]

    def current(self, call: Callable[[], Any], missing: Sequence[str], what: str) -> Any:
        """Read a bucket setting; `_MISSING` when it (or the bucket) does not exist yet."""
        if not self.bucket_exists:
            return _MISSING
        return self.read(call, missing, what)

    def versioning(self) -> list[Change]:
        got = self.current(
            lambda: self.s3.get_bucket_versioning(Bucket=self.bucket), (), "versioning"
        )
        status = None if got is _MISSING else got.get("Status")
        desired = {"Status": "Enabled"}
        return [
            self.change(
                "versioning",
                needed=status != "Enabled",
                created=got is _MISSING,
                summary="versioning is enabled" if status == "Enabled" else "enable versioning",
                current={"Status": status or "Disabled"},
                desired=desired,
                documents={"versioning": desired},
                apply=lambda: self.s3.put_bucket_versioning(
                    Bucket=self.bucket, VersioningConfiguration=desired
                ),
                steps=self._cli("put-bucket-versioning", {"VersioningConfiguration": desired}),
            )
        ]

    def encryption(self) -> list[Change]:
        key = self.kms_key_arn if self.use_kms else None
        shown_key = key or (self.kms_placeholder if self.use_kms else None)
        desired = docs.encryption_config(shown_key)
        got = self.current(
            lambda: self.s3.get_bucket_encryption(Bucket=self.bucket)[
                "ServerSideEncryptionConfiguration"
            ],
            ("ServerSideEncryptionConfigurationNotFoundError",),
            "default encryption",
        )
        current = None if got is _MISSING else got
        default = {}
        if current and current.get("Rules"):
            default = current["Rules"][0].get("ApplyServerSideEncryptionByDefault", {})
        algorithm = default.get("SSEAlgorithm")
        if self.use_kms:
            ok = (
                algorithm == "aws:kms"
                and key is not None
                and same_key(default.get("KMSMasterKeyID"), key)
            )
            what = f"SSE-KMS with {shown_key}"
        else:
            ok = algorithm == "AES256"
            what = "SSE-S3 (AES256)"

        def apply() -> None:
            # The key exists by now when the KMS step ran first in this applying run.
            config = docs.encryption_config(self.kms_key_arn if self.use_kms else None)
            self.s3.put_bucket_encryption(
                Bucket=self.bucket, ServerSideEncryptionConfiguration=config
            )

        return [
            self.change(
                "encryption",
                needed=not ok,
                created=current is None,
                summary=f"default encryption is {what}"
                if ok
                else f"set default encryption to {what}",
                current=current,
                desired=desired,
                documents={"encryption": desired},
                apply=apply,
                steps=self._cli(
                    "put-bucket-encryption", {"ServerSideEncryptionConfiguration": desired}
                ),
            )
        ]

    def public_access_block(self) -> list[Change]:
        got = self.current(
            lambda: self.s3.get_public_access_block(Bucket=self.bucket)[
                "PublicAccessBlockConfiguration"
            ],
            ("NoSuchPublicAccessBlockConfiguration",),
            "the public access block",
        )
        current = None if got is _MISSING else got
        desired = dict(docs.PUBLIC_ACCESS_BLOCK)
        ok = current is not None and all(current.get(k) is True for k in desired)
        return [
            self.change(
                "public-access-block",
                needed=not ok,
                created=current is None,
                summary="public access is fully blocked" if ok else "block all public access",
                current=current,
                desired=desired,
                documents={"public_access_block": desired},
                apply=lambda: self.s3.put_public_access_block(
                    Bucket=self.bucket, PublicAccessBlockConfiguration=desired
                ),
                steps=self._cli(
                    "put-public-access-block", {"PublicAccessBlockConfiguration": desired}
                ),
            )
        ]

    def ownership(self) -> list[Change]:
        got = self.current(
            lambda: self.s3.get_bucket_ownership_controls(Bucket=self.bucket)["OwnershipControls"],
            ("OwnershipControlsNotFoundError",),
            "object ownership",
        )
        current = None if got is _MISSING else got
        desired = docs.OWNERSHIP
        rules = (current or {}).get("Rules", [])
        ok = bool(rules) and rules[0].get("ObjectOwnership") == "BucketOwnerEnforced"
        return [
            self.change(
                "ownership-controls",
                needed=not ok,
                created=current is None,
                summary="ACLs are disabled (BucketOwnerEnforced)"
                if ok
                else "disable ACLs (BucketOwnerEnforced)",
                current=current,
                desired=desired,
                documents={"ownership_controls": desired},
                apply=lambda: self.s3.put_bucket_ownership_controls(
                    Bucket=self.bucket, OwnershipControls=desired
                ),
                steps=self._cli("put-bucket-ownership-controls", {"OwnershipControls": desired}),
            )
        ]

    @property
    def cors_max_age(self) -> int:
        return int(self.setting("cors_max_age", docs.DEFAULT_CORS_MAX_AGE))

    def cors(self) -> list[Change]:
        got = self.current(
            lambda: self.s3.get_bucket_cors(Bucket=self.bucket)["CORSRules"],
            ("NoSuchCORSConfiguration",),
            "CORS",
        )
        current = [] if got is _MISSING else got
        problems = docs.cors_problems(current, self.cors_max_age)
        # The bucket's own rules stay (S3 replaces the whole configuration on PUT):
        # byob adds its rule, or updates it, next to them.
        rules = docs.merged_cors(current, self.cors_max_age) if problems else list(current)
        desired = {"CORSRules": rules}
        kept = [r for r in current if not docs.is_byob_cors_rule(r)]
        ours = "update byob's rule" if len(kept) < len(current) else "add byob's rule"
        return [
            self.change(
                "cors",
                needed=bool(problems),
                created=not current,
                summary=(
                    "CORS allows GET, HEAD and PUT from any origin and exposes ETag"
                    if not problems
                    else "set the CORS rules ("
                    + "; ".join(problems)
                    + f"): {ours}"
                    + (f", keep the bucket's {len(kept)} other rule(s)" if kept else "")
                ),
                current={"CORSRules": current},
                desired=desired,
                documents={"cors": desired},
                apply=lambda: self.s3.put_bucket_cors(
                    Bucket=self.bucket, CORSConfiguration=desired
                ),
                steps=self._cli("put-bucket-cors", {"CORSConfiguration": desired}),
            )
        ]

    def bucket_policy(self) -> list[Change]:
        """The grant of the eleven actions to the principal, and the optional deny of plain HTTP."""
        wanted: list[dict[str, Any]] = []
        if self.principal:
            wanted.append(docs.grant_statement(self.bucket, self.principal))
        if truthy(self.setting("deny_insecure_transport", False)):
            wanted.append(docs.deny_insecure_statement(self.bucket))
        changes: list[Change] = []
        if not self.principal:
            changes.append(
                Change(
                    name="platform-grant",
                    action=Action.MANUAL,
                    summary="no platform principal is configured: the bucket policy and the KMS key "
                    "policy grant it nothing",
                    steps=[
                        "set the platform principal (the AWS role or account of the platform) "
                        "in the configuration, then run provision again"
                    ],
                )
            )
        got = self.current(
            lambda: self.s3.get_bucket_policy(Bucket=self.bucket)["Policy"],
            ("NoSuchBucketPolicy",),
            "the bucket policy",
        )
        current = {} if got is _MISSING else docs.parse_policy(got)
        ours = {docs.GRANT_SID, docs.DENY_TLS_SID}
        kept = [s for s in docs.statements(current) if s.get("Sid") not in ours]
        theirs = [s for s in docs.statements(current) if s.get("Sid") in ours]
        merged = {"Version": docs.POLICY_VERSION, "Statement": kept + wanted}
        needed = not docs.same_statements(theirs, wanted)
        if not merged["Statement"]:
            apply = lambda: self.s3.delete_bucket_policy(Bucket=self.bucket)  # noqa: E731
        else:
            apply = lambda: self.s3.put_bucket_policy(  # noqa: E731
                Bucket=self.bucket, Policy=json.dumps(merged)
            )
        summary = (
            "the bucket policy is as desired"
            if not needed
            else "set the bucket policy ("
            + ", ".join(
                ["grant the platform principal the eleven actions"] * bool(self.principal)
                + ["deny non-TLS access"] * any(s["Sid"] == docs.DENY_TLS_SID for s in wanted)
                or ["remove byob's statements"]
            )
            + ")"
        )
        changes.append(
            self.change(
                "bucket-policy",
                needed=needed,
                created=not current,
                summary=summary,
                current=current or None,
                desired=merged,
                documents={"bucket_policy": merged},
                apply=apply,
                steps=[
                    f"aws s3api put-bucket-policy --bucket {self.bucket} --policy file://policy.json",
                    "policy.json: " + json.dumps(merged, sort_keys=True),
                ],
            )
        )
        return changes

    def lifecycle(self) -> list[Change]:
        got = self.current(
            lambda: self.s3.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"],
            ("NoSuchLifecycleConfiguration",),
            "the lifecycle rules",
        )
        current = [] if got is _MISSING else list(got)
        rule = desired_lifecycle(self.store, settings_of(self.store, self.context))
        existing = next((r for r in current if r.get("ID") == rule["ID"]), None)
        needed = existing is None or not docs.rule_matches(existing, rule)
        desired = {"Rules": [r for r in current if r.get("ID") != rule["ID"]] + [rule]}
        days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        aborts = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        what = (
            f"expire noncurrent versions after {days} days, remove delete markers that cover "
            f"no version, abort incomplete uploads after {aborts} days"
        )
        return [
            self.change(
                "lifecycle",
                needed=needed,
                created=existing is None,
                summary=f"lifecycle rule {rule['ID']!r}: {what}"
                + ("" if not needed else " (to set)"),
                current={"Rules": current},
                desired=desired,
                documents={"lifecycle": desired},
                apply=lambda: self.s3.put_bucket_lifecycle_configuration(
                    Bucket=self.bucket, LifecycleConfiguration=desired
                ),
                steps=self._cli(
                    "put-bucket-lifecycle-configuration", {"LifecycleConfiguration": desired}
                ),
            )
        ]


def same_key(current: str | None, wanted: str) -> bool:
    """Whether a bucket's KMSMasterKeyID (an ARN, a key id or an alias) names `wanted`."""
    if not current:
        return False
    if current == wanted:
        return True
    return wanted.rsplit("/", 1)[-1] == current.rsplit("/", 1)[-1]
