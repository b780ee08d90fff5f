"""`render k8s`: each overlay's secrets.env.example (the keys its secretGenerator reads), the production
overlay's database.env.example (the settings of its external database) and the External Secrets
Operator component's data list, from the spec."""


from __future__ import annotations

import yaml

from deeptempo_deploy.platforms.k8s import DATABASE_CONFIGMAP, DATABASE_OVERLAYS, EXTERNAL_SECRET_KEY, OVERLAYS, SECRET_NAME
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_entrypoint.constants import DATA_BACKEND_VARIABLE, DATABASE_HOST_VARIABLE
from deeptempo_entrypoint.env_example import example_line, rule_text
from deeptempo_entrypoint.spec.model import REQUIRED_WITH, Spec

GENERATED = "Generated from the secrets spec by `deeptempo-deploy render k8s`; a test keeps it equal."


def render_secrets_env_example(spec: Spec, overlay: str) -> str:
    lines = [f"# Secrets of the {overlay} overlay: cp secrets.env.example secrets.env (gitignored), put the real",
             "# values in, bare KEY=value (Kustomize keeps quotes as part of the value), one per line.",
             f"# {GENERATED}", ""]
    # An overlay with a database sets POSTGRES_HOST (database.env), which requires what it requires.
    settings = {DATABASE_HOST_VARIABLE} if overlay in DATABASE_OVERLAYS else set()
    for entry in SpecView(spec).secrets:  # env.example's lines, secrets only: the generator's keys
        lines.append(f"# {entry.description} [{rule_text(entry, spec)}]")
        line = example_line(entry, spec)
        lines.append(line.removeprefix("# ") if entry.rule == REQUIRED_WITH and entry.when_set in settings else line)
    return "\n".join(lines) + "\n"


# The external database's settings the overlay's ConfigMap carries, and the value each example line
# shows: the host is required (its placeholder, which `check` refuses), TLS across a network.
DATABASE_SETTINGS = {DATABASE_HOST_VARIABLE: None, "POSTGRES_PORT": None, "POSTGRES_DB": "deeptempo_soc",
                     "POSTGRES_USER": "deeptempo", "POSTGRES_SSL_MODE": "require"}
ACTIVE_SETTINGS = (DATABASE_HOST_VARIABLE, "POSTGRES_SSL_MODE")


def render_database_env_example(spec: Spec, overlay: str) -> str:
    lines = [f"# The {overlay} overlay's external database, the ConfigMap {DATABASE_CONFIGMAP}: cp database.env.example",
             "# database.env (gitignored) and set POSTGRES_HOST; bare KEY=value. Its password is POSTGRES_PASSWORD in",
             f"# secrets.env. {DATA_BACKEND_VARIABLE} stays database (components/external-database).",
             f"# {GENERATED}", ""]
    for name, value in DATABASE_SETTINGS.items():
        entry = spec.by_name.get(name)
        if entry is None:
            continue
        shown = value or (entry.placeholders[0] if entry.placeholders else entry.default or "")
        rule = "required by components/external-database" if name == DATABASE_HOST_VARIABLE else rule_text(entry, spec)
        lines.append(f"# {entry.description} [{rule}]")
        lines.append(f"{'' if name in ACTIVE_SETTINGS else '# '}{name}={shown}")
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
    files.update({f"k8s/overlays/{overlay}/database.env.example": render_database_env_example(spec, overlay)
                  for overlay in DATABASE_OVERLAYS})
    files["k8s/components/external-secret/externalsecret.yaml"] = render_external_secret(spec)
    return files
