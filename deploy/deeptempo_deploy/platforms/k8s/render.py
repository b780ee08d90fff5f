"""`render k8s`: each overlay's secrets.env.example (the keys its secretGenerator reads) and the
External Secrets Operator component's data list, from the spec."""


from __future__ import annotations

import yaml

from deeptempo_deploy.platforms.k8s import EXTERNAL_SECRET_KEY, OVERLAYS, SECRET_NAME
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.env_example import example_line, rule_text
from deeptempo_entrypoint.spec.model import Spec

GENERATED = "Generated from the secrets spec by `deeptempo-deploy render k8s`; a test keeps it equal."


def render_secrets_env_example(spec: Spec, overlay: str) -> str:
    lines = [f"# Secrets of the {overlay} overlay: cp secrets.env.example secrets.env (gitignored), put the real",
             "# values in, bare KEY=value (Kustomize keeps quotes as part of the value), one per line.",
             f"# {GENERATED}", ""]
    for entry in SpecView(spec).secrets:  # env.example's lines, secrets only: the generator's keys
        lines.append(f"# {entry.description} [{rule_text(entry, spec)}]")
        lines.append(example_line(entry, spec))
    return "\n".join(lines) + "\n"


def render_external_secret(spec: Spec) -> str:
    document = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "deeptempo-secrets"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "deeptempo-aws", "kind": "SecretStore"},
            "target": {"name": SECRET_NAME, "creationPolicy": "Owner"},
            "data": [{"secretKey": entry.name, "remoteRef": {"key": EXTERNAL_SECRET_KEY, "property": entry.name}}
                     for entry in SpecView(spec).secrets],
        },
    }
    header = (f"# One key of the JSON secret {EXTERNAL_SECRET_KEY} in AWS Secrets Manager per secret of the spec; the\n"
              "# JSON must hold every key (an empty string for a secret you do not use: empty means not set).\n"
              f"# {GENERATED}\n")
    return header + yaml.safe_dump(document, sort_keys=False)


def render(spec: Spec) -> dict[str, str]:
    files = {f"k8s/overlays/{overlay}/secrets.env.example": render_secrets_env_example(spec, overlay) for overlay in OVERLAYS}
    files["k8s/components/external-secret/externalsecret.yaml"] = render_external_secret(spec)
    return files
