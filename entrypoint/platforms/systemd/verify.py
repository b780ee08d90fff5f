"""`verify systemd UNIT...`: `systemd-analyze verify` (every line it prints is a finding: it exits 0
on unknown keys), `systemd-analyze security --offline=true` (the exposure above a threshold is a
finding), then the kit's rules. Findings name the rule in brackets and never a value."""

import os
import re
import shlex
import shutil
import subprocess
import tempfile

from entrypoint.constants import EXIT_CONFIG
from entrypoint.errors import ConfigError, UnavailableError
from entrypoint.findings import ERROR, WARNING, Finding
from entrypoint.platforms.rules import reachability_findings
from entrypoint.platforms.spec_view import SpecView
from entrypoint.textfile import read_text

EXPOSURE = re.compile(r"Overall exposure level for \S+: (?P<score>\d+(\.\d+)?)")
DEFAULT_MAX_EXPOSURE = 2.0
# What the exposure score weighs too little to notice alone, but a unit of this kit must keep.
REQUIRED_HARDENING = {"NoNewPrivileges": ("yes", "true"), "ProtectSystem": ("strict", "full"), "ProtectHome": ("yes", "true", "read-only", "tmpfs"),
                      "PrivateTmp": ("yes", "true"), "PrivateDevices": ("yes", "true")}


def parse_unit(text):
    """{section: [(key, value, line)]}: systemd's syntax (comments, continuation lines, repeated keys)."""
    sections, section, pending, start = {}, None, "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending, start = pending + line[:-1] + " ", start or number
            continue
        line, pending, first = pending + line, "", start or number
        start = 0
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            sections.setdefault(section, [])
        elif "=" in line and section is not None:
            key, value = line.split("=", 1)
            sections[section].append((key.strip(), value.strip(), first))
    return sections


def values(unit, section, key):
    """Every value of a key in order; an empty assignment resets the list, as systemd does."""
    found = []
    for name, value, _ in unit.get(section, []):
        if name == key:
            found = [] if value == "" else [*found, value]
    return found


def verify_systemd(paths, spec, max_exposure=DEFAULT_MAX_EXPOSURE):
    if not shutil.which("systemd-analyze"):
        raise UnavailableError("systemd-analyze is not installed (Debian: apt-get install systemd)")
    findings, sources = [], {}
    for path in paths:
        text = read_text(path, error=ConfigError, what="unit")
        unit = parse_unit(text)
        where = os.path.basename(path)
        findings += analyze_verify(path, text)
        findings += exposure_findings(path, max_exposure)
        findings += rule_findings(unit, where)
        reachable, secret_findings = secret_sources(SpecView(spec), unit, where)
        findings += secret_findings + reachability_findings(spec, reachable, where)
        sources.update(reachable)
    return findings, sources


def _analyze_copy(path, text, directory):
    """The unit copied into `directory` with ExecStart's program replaced by a stub when it is not
    installed here (systemd-analyze verify refuses a unit whose program is missing). Returns the path
    systemd-analyze should load: an instance name for a template."""
    def stub_missing(match):
        program = match.group(2)
        if os.path.isabs(program) and os.access(program, os.X_OK):
            return match.group(0)
        stub = os.path.join(directory, "stub-" + os.path.basename(program))
        with open(stub, "w") as stream:
            stream.write("#!/bin/sh\n")
        os.chmod(stub, 0o755)
        return match.group(1) + stub

    name = os.path.basename(path)
    with open(os.path.join(directory, name), "w", encoding="utf-8") as stream:
        stream.write(re.sub(r"^(ExecStart=[-@:+!]*)(\S+)", stub_missing, text, flags=re.MULTILINE))
    return os.path.join(directory, name.replace("@.", "@verify.") if "@." in name else name)


def analyze_verify(path, text):
    with tempfile.TemporaryDirectory(prefix="deeptempo-units-") as directory:
        target = _analyze_copy(path, text, directory)
        result = subprocess.run(["systemd-analyze", "verify", target], capture_output=True, text=True, timeout=60)
        lines = [line.replace(directory + "/", "").strip() for line in (result.stdout + result.stderr).splitlines()]
    where = os.path.basename(path)
    findings = [Finding(None, ERROR, f"[systemd-verify] {where}: {line[:300]}") for line in lines if line]
    if result.returncode != 0 and not findings:
        findings.append(Finding(None, ERROR, f"[systemd-verify] {where}: systemd-analyze verify failed"))
    return findings


def exposure_findings(path, max_exposure):
    with tempfile.TemporaryDirectory(prefix="deeptempo-units-") as directory:
        name = os.path.basename(path)
        shutil.copy(path, os.path.join(directory, name))
        target = name.replace("@.", "@verify.") if "@." in name else name
        result = subprocess.run(["systemd-analyze", "security", "--offline=true", target], cwd=directory,
                                capture_output=True, text=True, timeout=60)
    match = EXPOSURE.search(result.stdout + result.stderr)
    where = os.path.basename(path)
    if not match:
        return [Finding(None, ERROR, f"[exposure] {where}: systemd-analyze security printed no exposure level")]
    score = float(match["score"])
    if score > max_exposure:
        return [Finding(None, ERROR, f"[exposure] {where}: exposure {score} is above {max_exposure} "
                                     "(systemd-analyze security --offline=true lists what raises it)")]
    return []


def rule_findings(unit, where):
    findings = []

    def fail(rule, message, level=ERROR):
        findings.append(Finding(None, level, f"[{rule}] {where}: {message}"))

    exec_start = values(unit, "Service", "ExecStart")
    words = shlex.split(exec_start[-1]) if exec_start else []
    program = next((i for i, word in enumerate(words) if os.path.basename(word.lstrip("-@:+!")) == "deeptempo-entrypoint"), None)
    if program is None or "serve" not in words[program + 1:]:
        fail("exec-start", "ExecStart must run `deeptempo-entrypoint serve` (it validates the secrets, then execs uvicorn)")
    prevent = " ".join(values(unit, "Service", "RestartPreventExitStatus")).split()
    if str(EXIT_CONFIG) not in prevent:
        fail("restart-prevent", f"RestartPreventExitStatus must include {EXIT_CONFIG}, or a configuration error restarts in a loop")
    if (values(unit, "Service", "Restart") or ["no"])[-1] == "no":
        fail("restart", "no Restart=; on-failure brings the service back after a crash", WARNING)
    user = (values(unit, "Service", "User") or [""])[-1]
    dynamic = (values(unit, "Service", "DynamicUser") or ["no"])[-1].lower() in ("yes", "true", "1", "on")
    if not dynamic and (not user or user in ("root", "0")):
        fail("non-root", "User= must name a dedicated non-root user (or DynamicUser=yes)")
    for key, accepted in REQUIRED_HARDENING.items():
        value = (values(unit, "Service", key) or [None])[-1]
        if value is None or (accepted and value.lower() not in accepted):
            fail("hardening", f"{key}= must be {' or '.join(accepted) if accepted else 'set'}")
    assignments = [value for key, value, _ in unit.get("Service", []) if key == "CapabilityBoundingSet"]
    if not assignments or assignments[-1] != "":
        fail("hardening", "CapabilityBoundingSet= must be set empty (the service needs no capability)")
    if not values(unit, "Service", "StateDirectory"):
        fail("state-directory", "no StateDirectory=: the app keeps ~/.deeptempo (logs, saved settings)", WARNING)
    return findings


def secret_sources(view, unit, where):
    reachable, findings = {}, []
    for assignment in values(unit, "Service", "Environment"):
        for word in shlex.split(assignment):
            name = word.split("=", 1)[0]
            if view.is_secret_key(name) or view.entry_for_file_variable(name):
                findings.append(Finding(name, ERROR, f"[no-secret-in-environment] {where}: Environment= sets {name}; "
                                                     "a secret belongs in EnvironmentFile= (mode 0600) or LoadCredential="))
    for key in ("LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted"):
        for value in values(unit, "Service", key):
            entry = view.entry_for_key(value.split(":", 1)[0])
            if entry:
                reachable.setdefault(entry.name, f"{key} {entry.name}")
    for value in values(unit, "Service", "EnvironmentFile"):
        path, optional = value.lstrip("-"), value.startswith("-")
        keys = _env_file_keys(path)
        if keys is None and optional:
            continue  # `-`: settings that may be absent; nothing is taken to come from it
        if keys is None:
            for entry in view.secrets:
                reachable.setdefault(entry.name, f"EnvironmentFile {path}")
            if not any(f.message.startswith("[secret-source]") for f in findings):
                findings.append(Finding(None, WARNING, f"[secret-source] {where}: EnvironmentFile {path} cannot be read here, "
                                                       "so its keys were not checked; every secret is taken to come from it"))
        else:
            for key in keys:
                entry = view.entry_for_key(key)
                if entry:
                    reachable.setdefault(entry.name, f"EnvironmentFile {path}")
    return reachable, findings


def _env_file_keys(path):
    if "%" in path or not os.path.isfile(path) or not os.access(path, os.R_OK):
        return None
    from entrypoint.envfile.reader import read_env_file

    try:
        return list(read_env_file(path, strict=False).values)
    except ConfigError:
        return None
