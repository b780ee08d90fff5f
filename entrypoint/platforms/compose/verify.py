"""`verify compose FILE...`: normalise the files with `docker compose config` (interpolation and
overrides applied), check the result against the compose specification's JSON Schema, then the kit's
rules on the service that runs the DeepTempo image. Findings name the rule in brackets."""

import json
import os
import re
import subprocess

from entrypoint.constants import DEFAULT_PORT, HEALTH_PATH
from entrypoint.errors import ConfigError, UnavailableError
from entrypoint.findings import ERROR, WARNING, Finding
from entrypoint.platforms.compose import SERVICE
from entrypoint.platforms.rules import literal_secret_finding, reachability_findings, writable_state_findings
from entrypoint.platforms.spec_view import SpecView
from entrypoint.schema_errors import describe_schema_error, field_path

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
ALL_INTERFACES = {"0.0.0.0", "::"}
REFERENCE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}?")  # ${VAR}, $VAR, ${VAR:?message}; no default


class ComposeConfig:
    """The files as Compose itself reads them: `interpolated` (what `up` would run) and `raw` (no
    interpolation, so `${CLAUDE_API_KEY}` still shows that it is a reference, not a value)."""

    def __init__(self, files, project_directory=None, stdin_text=None):
        self.files = [os.fspath(path) for path in files]  # "-": the one file is on standard input
        self.project_directory = project_directory
        self.stdin_text = stdin_text
        self.interpolated = self._config()
        self.raw = self._config("--no-interpolate")

    def _config(self, *options):
        command = ["docker", "compose"]
        if self.project_directory:
            command += ["--project-directory", self.project_directory]
        for path in self.files:
            command += ["-f", path]
        command += ["config", "--format", "json", "--no-env-resolution", *options]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60, input=self.stdin_text)
        except FileNotFoundError:
            raise UnavailableError("the docker CLI is not installed (verify compose runs `docker compose config`)") from None
        if result.returncode != 0:
            # Compose's own message names the file and the line; keep its first line, never the whole output.
            first = next((line for line in result.stderr.splitlines() if line.strip() and "level=warning" not in line), "")
            if "is not a docker command" in result.stderr:
                raise UnavailableError("the Compose v2 plugin is not installed (`docker compose version` fails)")
            raise ConfigError(f"compose {' '.join(self.files)}: `docker compose config` refused it: {first[:300]}")
        return json.loads(result.stdout)


def verify_compose(files, spec, service=None, project_directory=None, stdin_text=None):
    """(findings, sources): sources maps each secret that reaches the service to how it arrives."""
    config = ComposeConfig(files, project_directory, stdin_text)
    where = "compose"
    findings = schema_findings(config.interpolated)
    name = service or _kit_service(config.interpolated)
    if name is None:
        return findings + [Finding(None, ERROR, f"[service] {where}: no service runs the DeepTempo image "
                                               "(name one with --service)")], {}
    where = f"service {name}"
    interpolated = config.interpolated["services"][name]
    raw = config.raw["services"][name]
    reachable, secret_findings = _secrets(SpecView(spec), interpolated, raw, where)
    findings += secret_findings
    findings += reachability_findings(spec, reachable, where)
    findings += _port_findings(interpolated, where)
    findings += _hardening_findings(interpolated, where)
    mounted = [volume.get("target", "") for volume in interpolated.get("volumes") or []]
    mounted += [str(item).split(":")[0] for item in interpolated.get("tmpfs") or []]
    findings += writable_state_findings(interpolated.get("read_only") is True, mounted, where)
    findings += _healthcheck_findings(interpolated, where)
    return findings, reachable


def schema_findings(document):
    """The compose specification's JSON Schema (vendored by check-jsonschema, which the deploy extra
    installs), applied to the normalised document."""
    import jsonschema
    from check_jsonschema.builtin_schemas import get_builtin_schema

    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [Finding(None, ERROR, f"[compose-schema] {field_path(error.absolute_path)}: {describe_schema_error(error)}")
            for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


def _kit_service(document):
    services = document.get("services") or {}
    if SERVICE in services:
        return SERVICE
    return next((name for name, service in services.items() if "deeptempo" in (service.get("image") or "")), None)


def _raw_environment(raw):
    """The uninterpolated environment as {key: value or None}: Compose keeps the list form here."""
    environment = raw.get("environment") or {}
    if isinstance(environment, dict):
        return environment
    pairs = (item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {key: value for key, value in pairs}


def _secrets(view, interpolated, raw, where):
    reachable, findings = {}, []
    raw_environment = _raw_environment(raw)
    for key, value in raw_environment.items():
        file_entry = view.entry_for_file_variable(key)
        if file_entry and value:
            reachable.setdefault(file_entry.name, key)
            continue
        entry = view.entry_for_key(key)
        if not view.is_secret_key(key):
            continue
        if value and not REFERENCE.fullmatch(value):
            findings.append(literal_secret_finding(key, f"{where}: environment"))
        if entry:
            reachable.setdefault(entry.name, "environment")
    # Keys Compose added from env_file entries (it reads them while interpolating): reachable by file.
    for key in interpolated.get("environment") or {}:
        entry = view.entry_for_key(key)
        if entry and key not in raw_environment:
            reachable.setdefault(entry.name, "env_file")
    for secret in interpolated.get("secrets") or []:
        entry = view.entry_for_key(os.path.basename(secret.get("target") or secret["source"]))
        if entry:
            reachable.setdefault(entry.name, f"secret {secret['source']}")
    declared = raw.get("env_file") or []
    loaded = any(key not in raw_environment for key in interpolated.get("environment") or {})
    unresolved = [entry.name for entry in view.secrets if entry.name not in reachable]
    if declared and not loaded and unresolved:
        paths = ", ".join(_shown_path(item.get("path", "")) for item in declared)
        findings.append(Finding(None, WARNING, f"[env-file] {where}: env_file {paths} is not present here, so its keys "
                                               f"were not checked; {', '.join(unresolved)} are taken to come from it"))
        reachable.update(dict.fromkeys(unresolved, "env_file"))
    return reachable, findings


def _shown_path(path):
    # Compose prefixes the project directory to an uninterpolated path: show what the user wrote.
    return path[path.index("${"):] if "${" in path else path


def _port_findings(service, where):
    findings = []
    for port in service.get("ports") or []:
        host_ip = port.get("host_ip") or ""
        published = f"{port.get('published', '')}:{port.get('target')}"
        if not host_ip:
            findings.append(Finding(None, ERROR, f"[loopback-only] {where}: port {published} is published on every "
                                                 "interface; publish it on 127.0.0.1 (or set the bind address explicitly)"))
        elif host_ip not in LOOPBACK:
            findings.append(Finding(None, WARNING, f"[loopback-only] {where}: port {published} is published on "
                                                   f"{host_ip} (an explicit wider bind)"))
    return findings


def _hardening_findings(service, where):
    findings = []

    def require(rule, ok, what):
        if not ok:
            findings.append(Finding(None, ERROR, f"[{rule}] {where}: {what}"))

    require("read-only-root", service.get("read_only") is True, "read_only: true is missing")
    tmpfs = service.get("tmpfs") or []
    require("tmp-writable", any(str(item).split(":")[0] == "/tmp" for item in tmpfs),
            "a tmpfs at /tmp is missing (a read-only root needs one)")
    require("cap-drop-all", "ALL" in (service.get("cap_drop") or []), "cap_drop: [ALL] is missing")
    require("no-new-privileges", any(opt.replace("=", ":") in ("no-new-privileges", "no-new-privileges:true")
                                     for opt in service.get("security_opt") or []),
            "security_opt no-new-privileges:true is missing")
    user = str(service.get("user") or "")
    require("non-root", user != "" and user.split(":")[0] not in ("0", "root"), "user is missing or root; use 10001:10001")
    require("init", service.get("init") is True, "init: true is missing (an init reaps the MCP servers' zombies)")
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    require("resource-limits", bool(limits.get("memory")) and bool(limits.get("cpus")),
            "deploy.resources.limits memory and cpus are missing")
    if not service.get("restart") or service["restart"] == "no":
        findings.append(Finding(None, WARNING, f"[restart] {where}: no restart policy; unless-stopped brings it back"))
    return findings


def _healthcheck_findings(service, where):
    check = service.get("healthcheck") or {}
    command = " ".join(map(str, check.get("test") or []))
    if check.get("disable") or not command or command in ("NONE",):
        return [Finding(None, ERROR, f"[healthcheck] {where}: no healthcheck; probe {HEALTH_PATH} on port {DEFAULT_PORT}")]
    if HEALTH_PATH not in command or str(DEFAULT_PORT) not in command:
        return [Finding(None, ERROR, f"[healthcheck] {where}: the healthcheck does not probe {HEALTH_PATH} on port "
                                     f"{DEFAULT_PORT}")]
    return []
