"""`render helm`: the parts of the chart the spec decides: values.schema.json (the secrets the spec
knows, with their formats where JSON Schema can say them; the settings with their types and defaults)
and templates/_spec.tpl (the list of secrets, for the ExternalSecret)."""

import json
from typing import Any

from deeptempo_deploy.platforms.helm import CHART
from deeptempo_entrypoint.spec.model import Entry, Spec

GENERATED = "Generated from the secrets spec by `deeptempo-deploy render helm`; a test keeps it equal."
# Formats JSON Schema can say (Helm checks values with Go's regexp: no look-around).
FORMAT_SCHEMAS: dict[str, dict[str, Any]] = {
    "postgresql-url": {"pattern": "^postgres(ql)?://"},
    "boolean": {"enum": ["true", "false", "1", "0", "yes", "no", "on", "off", "True", "False"]},
    "port": {"pattern": "^[0-9]{1,5}$"},
    "positive-integer": {"pattern": "^[0-9]{1,4}$"},
    "asgi-app": {"pattern": "^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$"},
}


def _value_schema(entry: Entry) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": entry.description}
    if entry.choices:
        schema["enum"] = list(entry.choices)
    if entry.pattern:
        # A secret's file given with `helm install --set-file secrets.NAME=FILE` ends with a newline as
        # editors save it: accepted here, and templates/secret.yaml trims it (trimSuffix).
        schema["pattern"] = f"^(?:{entry.pattern})" + ("\\n?$" if entry.is_secret else "$")
    if entry.format in FORMAT_SCHEMAS:
        schema.update(FORMAT_SCHEMAS[entry.format])
    if entry.default is not None:
        schema["default"] = entry.default
    return schema


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties, **extra}


STRING = {"type": "string"}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_$-]{0,62}$"}  # a PostgreSQL role or database name
KEY = {"type": "string", "pattern": "^[-._a-zA-Z0-9]+$"}  # a Secret's key
SIZE = _object({"sizeLimit": {"type": "string", "pattern": "^[0-9]+(Ki|Mi|Gi)?$"}})
STRING_MAP = {"type": "object", "additionalProperties": STRING}  # labels, annotations, a nodeSelector
# Registry Secrets as Bitnami's charts take them: a name, or {name: NAME}.
PULL_SECRETS = {"type": "array", "items": {"oneOf": [STRING, _object({"name": STRING}, required=["name"])]}}
IMAGE = _object({"registry": STRING, "repository": STRING, "tag": STRING,
                 "digest": {"type": "string", "pattern": "^$|^sha256:[a-f0-9]{64}$"},
                 "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}, "pullSecrets": PULL_SECRETS},
                required=["repository", "tag"])
# A pod's scheduling, Kubernetes' own fields: the keys typed here (a misspelt one refused), what is inside
# an affinity left to Kubernetes' schema, which `verify helm` applies to the rendered pods.
TOLERATIONS = {"type": "array", "items": _object({
    "key": STRING, "operator": {"enum": ["Exists", "Equal"]}, "value": STRING,
    "effect": {"enum": ["", "NoSchedule", "PreferNoSchedule", "NoExecute"]}, "tolerationSeconds": {"type": "integer"}})}
AFFINITY = _object({"nodeAffinity": {"type": "object"}, "podAffinity": {"type": "object"},
                    "podAntiAffinity": {"type": "object"}})
PRIORITY_CLASS = {"type": "string", "pattern": "^$|^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"}  # a DNS subdomain
RESOURCES = {"type": "object"}
# What an umbrella chart gives every subchart: `global` (Bitnami's keys typed; any other subchart's
# global accepted, since every subchart of the umbrella receives the same), and `enabled`, the key a
# dependency's `condition:` names by convention (`condition: deeptempo.enabled`). Helm validates a
# subchart's values with both in them; every other top-level key stays refused, so a misspelt value
# fails the install instead of being ignored.
GLOBAL = {"type": "object", "additionalProperties": True, "properties": {
    "imageRegistry": STRING, "imagePullSecrets": PULL_SECRETS, "defaultStorageClass": STRING,
    "storageClass": {"type": "string", "description": "Bitnami's older name for defaultStorageClass"}}}
UMBRELLA_CONDITION = {"type": "boolean", "description": "An umbrella chart's `condition: deeptempo.enabled`; unused by this chart"}


def values_schema(spec: Spec) -> dict[str, Any]:
    secrets = {entry.name: _value_schema(entry) for entry in spec.secrets}
    settings = {entry.name: _value_schema(entry) for entry in spec if not entry.is_secret}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "deeptempo chart values",
        "$comment": GENERATED,
        **_object({
            "global": GLOBAL,
            "enabled": UMBRELLA_CONDITION,
            "replicaCount": {"type": "integer", "minimum": 1},
            "image": IMAGE,
            "nameOverride": STRING,
            "fullnameOverride": STRING,
            "existingSecret": STRING,
            "secrets": _object(secrets, description="One key per secret of the spec, by its name"),
            "externalSecret": _object({
                "enabled": {"type": "boolean"}, "refreshInterval": STRING, "remoteKey": STRING,
                "secretStoreRef": _object({"name": STRING, "kind": {"enum": ["SecretStore", "ClusterSecretStore"]}})}),
            "usePasswordFiles": {"type": "boolean"},
            "settings": _object(settings, description="Settings of the spec, as environment variables"),
            # Kubernetes' EnvVar: a name and a string value, or a valueFrom (Kubernetes' schema judges inside it).
            "extraEnvVars": {"type": "array", "items": _object({
                "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, "value": STRING,
                "valueFrom": {"type": "object"}}, required=["name"])},
            "extraEnvVarsSecret": STRING,
            "podAnnotations": STRING_MAP,
            "podLabels": STRING_MAP,
            "podSecurityContext": {"type": "object"},
            "containerSecurityContext": {"type": "object"},
            "resources": RESOURCES,
            "volumes": _object({"tmp": SIZE, "state": SIZE, "data": SIZE}),
            "nodeSelector": STRING_MAP,
            "tolerations": TOLERATIONS,
            "affinity": AFFINITY,
            "priorityClassName": PRIORITY_CLASS,
            "service": _object({"type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                                "port": {"type": "integer", "minimum": 1, "maximum": 65535}}),
            "topologySpread": {"type": "boolean"},
            "podDisruptionBudget": _object({"enabled": {"type": "boolean"}, "maxUnavailable": {"type": ["integer", "string"]}}),
            "networkPolicy": _object({"enabled": {"type": "boolean"}}),
            "externalDatabase": _object({
                "host": {"type": "string", "description": "The database's host (POSTGRES_HOST); empty: no external database"},
                "port": PORT, "user": NAME, "database": NAME,
                "sslMode": {"enum": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
                "existingSecret": {"type": "string", "description": "A Secret holding the password (default: the chart's)"},
                "existingSecretPasswordKey": KEY}),
            "postgresql": _object({
                "enabled": {"type": "boolean", "description": "PostgreSQL as a StatefulSet of this release"},
                "image": IMAGE,
                "auth": _object({"username": NAME, "database": NAME, "existingSecret": STRING,
                                 "secretKeys": _object({"userPasswordKey": KEY})}),
                "primary": _object({
                    "persistence": _object({"enabled": {"type": "boolean"}, "existingClaim": STRING, "storageClass": STRING,
                                            "accessModes": {"type": "array", "minItems": 1, "items": {
                                                "enum": ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"]}},
                                            "size": {"type": "string", "pattern": "^[0-9]+(Ki|Mi|Gi|Ti)?$"}}),
                    "resources": RESOURCES, "podAnnotations": STRING_MAP, "podLabels": STRING_MAP,
                    "nodeSelector": STRING_MAP, "tolerations": TOLERATIONS, "affinity": AFFINITY,
                    "priorityClassName": PRIORITY_CLASS}),
            }),
            "autoscaling": _object({"enabled": {"type": "boolean"}, "minReplicas": {"type": "integer", "minimum": 1},
                                    "maxReplicas": {"type": "integer", "minimum": 1},
                                    "targetCPU": {"type": "integer", "minimum": 1, "maximum": 100}}),
        }),
    }


def spec_template(spec: Spec) -> str:
    names = " ".join(entry.name for entry in spec.secrets)
    return (f"{{{{/* {GENERATED} */}}}}\n"
            f'{{{{- define "deeptempo.specSecrets" -}}}}{names}{{{{- end -}}}}\n')


def render(spec: Spec) -> dict[str, str]:
    return {f"{CHART}/values.schema.json": json.dumps(values_schema(spec), indent=2) + "\n",
            f"{CHART}/templates/_spec.tpl": spec_template(spec)}
