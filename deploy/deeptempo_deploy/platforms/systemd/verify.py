"""`verify systemd UNIT...`: `systemd-analyze verify` (every line it prints is a finding: it exits 0
on unknown keys), `systemd-analyze security --offline=true` (the exposure above a threshold is a
finding), then the kit's rules. Findings name the rule in brackets and never a value."""

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.rules import shared_findings
from deeptempo_deploy.platforms.systemd.load import Unit, last, load, parse_unit, split_words, values
from deeptempo_deploy.redaction import relayed_line
from deeptempo_entrypoint.constants import EXIT_CONFIG
from deeptempo_entrypoint.errors import ConfigError, UnavailableError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.spec.model import Spec
from deeptempo_entrypoint.textfile import read_text

EXPOSURE = re.compile(r"Overall exposure level for \S+: (?P<score>\d+(\.\d+)?)")
DEFAULT_MAX_EXPOSURE = 2.0
# What the exposure score weighs too little to notice alone, but a unit of this kit must keep (the shared
# rules judge ProtectSystem=, NoNewPrivileges= and CapabilityBoundingSet= as the read-only root,
# no-new-privileges and dropped capabilities of every platform).
REQUIRED_HARDENING = {"ProtectHome": ("yes", "true", "read-only", "tmpfs"), "PrivateTmp": ("yes", "true"),
                      "PrivateDevices": ("yes", "true")}


def verify_systemd(paths: Sequence[str], spec: Spec,
                   max_exposure: float = DEFAULT_MAX_EXPOSURE) -> tuple[list[Finding], dict[str, str]]:
    if not shutil.which("systemd-analyze"):
        raise UnavailableError("systemd-analyze is not installed (Debian: apt-get install systemd)")
    findings: list[Finding] = []
    sources: dict[str, str] = {}
    for path in paths:
        text = read_text(path, error=ConfigError, what="unit")
        findings += analyze_verify(path, text)
        findings += exposure_findings(path, max_exposure)
        unit_findings, routes = judge(text, os.path.basename(path), spec)
        findings += unit_findings
        sources.update(routes)
    return findings, sources


def judge(text: str, name: str, spec: Spec) -> tuple[list[Finding], dict[str, str]]:
    """The verdict on one unit's text: its workload under the shared rules, then systemd's own."""
    unit = parse_unit(text)
    workload, findings = load(unit, name, spec)
    findings += shared_findings([workload], spec) + rule_findings(unit, workload)
    return findings, workload.secret_routes


def _analyze_copy(path: str, text: str, directory: str) -> str:
    """The unit copied into `directory` with ExecStart's program replaced by a stub when it is not
    installed here (systemd-analyze verify refuses a unit whose program is missing). Returns the path
    systemd-analyze should load: an instance name for a template."""
    def stub_missing(match: re.Match[str]) -> str:
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


def analyze_verify(path: str, text: str) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="deeptempo-units-") as directory:
        target = _analyze_copy(path, text, directory)
        result = subprocess.run(["systemd-analyze", "verify", target], capture_output=True, text=True, encoding="utf-8",
                                errors="replace", timeout=60)
        lines = [relayed(line.replace(directory + "/", "").strip()) for line in (result.stdout + result.stderr).splitlines()]
    where = Where(file=os.path.basename(path), object=os.path.basename(path))
    findings = [Finding(None, ERROR, line[:300], "systemd-verify", where) for line in lines if line]
    if result.returncode != 0 and not findings:
        findings.append(Finding(None, ERROR, "systemd-analyze verify failed", "systemd-verify", where))
    return findings


def relayed(line: str) -> str:
    """A line of systemd-analyze as the report repeats it: without what it quotes of the unit (an
    assignment it ignores is the unit's own text, and may hold a value)."""
    head, marker, _ = line.partition("ignoring:")
    return relayed_line(head + marker + (" the line (not repeated here)" if marker else ""))


def exposure_findings(path: str, max_exposure: float) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="deeptempo-units-") as directory:
        name = os.path.basename(path)
        shutil.copy(path, os.path.join(directory, name))
        target = name.replace("@.", "@verify.") if "@." in name else name
        result = subprocess.run(["systemd-analyze", "security", "--offline=true", target], cwd=directory,
                                capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=60)
    match = EXPOSURE.search(result.stdout + result.stderr)
    where = Where(file=os.path.basename(path), object=os.path.basename(path))
    if not match:
        return [Finding(None, ERROR, "systemd-analyze security printed no exposure level", "exposure", where)]
    score = float(match["score"])
    if score > max_exposure:
        return [Finding(None, ERROR, f"exposure {score} is above {max_exposure} (systemd-analyze security --offline=true "
                                     "lists what raises it)", "exposure", where)]
    return []


def rule_findings(unit: Unit, workload: Workload) -> list[Finding]:
    problems: list[tuple[str, str, str]] = []  # (rule, level, message)
    words, syntax = split_words(last(unit, "ExecStart", "") or "", workload.where, "ExecStart")
    program = next((i for i, word in enumerate(words) if os.path.basename(word.lstrip("-@:+!")) == "deeptempo-entrypoint"), None)
    if not syntax and (program is None or "serve" not in words[program + 1:]):
        problems.append(("exec-start", ERROR, "ExecStart must run `deeptempo-entrypoint serve` (it validates the secrets, "
                                              "then hands over to uvicorn)"))
    if str(EXIT_CONFIG) not in " ".join(values(unit, "Service", "RestartPreventExitStatus")).split():
        problems.append(("restart-prevent", ERROR, f"RestartPreventExitStatus must include {EXIT_CONFIG}, or a "
                                                   "configuration error restarts in a loop"))
    if (last(unit, "Restart") or "no") == "no":
        problems.append(("restart", WARNING, "no Restart=; on-failure brings the service back after a crash"))
    for key, accepted in REQUIRED_HARDENING.items():
        if (last(unit, key) or "").lower() not in accepted:
            problems.append(("hardening", ERROR, f"{key}= must be {' or '.join(accepted)}"))
    if not values(unit, "Service", "StateDirectory"):
        problems.append(("state-directory", WARNING, "no StateDirectory=: the app keeps ~/.deeptempo (logs, saved settings)"))
    return syntax + [Finding(None, level, message, rule, workload.where) for rule, level, message in problems]
