"""The ARNs a task definition's `secrets[].valueFrom` may hold, parsed once for render, verify and local."""


from __future__ import annotations

import re
from dataclasses import dataclass

SECRETS_MANAGER = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):secret:"
    r"(?P<name>[A-Za-z0-9/_+=.@!-]+?)(?::(?P<json_key>[^:]*):(?P<stage>[^:]*):(?P<version>[^:]*))?")
SSM_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):ssm:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
                     r"parameter(?P<name>/[A-Za-z0-9/_.-]+)")
KMS_KEY = re.compile(r"arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:(key/([0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
                     r"|alias/[A-Za-z0-9/_-]+)")
SSM_NAME = re.compile(r"/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


@dataclass(frozen=True)
class SecretRef:
    """One valueFrom: `service` is secretsmanager or ssm; `resource` the ARN (or parameter name) without
    the json-key/version suffix; `secret_id` what the API's GetSecretValue/GetParameters take."""

    service: str
    resource: str
    secret_id: str
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""


def parse_value_from(value_from: str) -> SecretRef | None:
    """A SecretRef, or None when `value_from` is neither a Secrets Manager ARN nor an SSM parameter."""
    match = SECRETS_MANAGER.fullmatch(value_from)
    if match:
        resource = value_from.split(":secret:")[0] + ":secret:" + match["name"]
        return SecretRef("secretsmanager", resource, resource, match["json_key"] or "", match["stage"] or "",
                         match["version"] or "")
    match = SSM_ARN.fullmatch(value_from)
    if match:
        return SecretRef("ssm", value_from, match["name"])
    if not value_from.startswith("arn:") and SSM_NAME.fullmatch(value_from) and not _looks_like_a_value(value_from):
        return SecretRef("ssm", value_from, value_from)  # a parameter name in the task's region
    return None


def _looks_like_a_value(name: str) -> bool:
    """A "parameter name" that is a pasted secret (it has a secret's format, or is a long token of
    mixed letters and digits): it is remembered, so no report prints it."""
    from deeptempo_deploy.platforms.spec_view import SpecView
    from deeptempo_deploy.redaction import remember
    from deeptempo_entrypoint.spec import builtin_spec

    if SpecView(builtin_spec()).looks_like_a_value(name):
        remember(name)
        return True
    return False
