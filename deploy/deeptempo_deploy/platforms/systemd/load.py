"""systemd, loaded: a unit file's [Service] as a Workload, in systemd's own syntax (comments,
continuation lines, repeated keys, an empty assignment resetting a list). A pure function of the text,
except that an EnvironmentFile= readable here is read for its keys and values."""

import os
import shlex
from collections.abc import Iterator

from deeptempo_deploy.platforms.model import (
    HOST_PATH,
    TMPFS,
    VOLUME,
    CarriedValue,
    EnvironmentEntry,
    ManifestText,
    Mount,
    Workload,
)
from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_deploy.redaction import remember
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, Where
from deeptempo_entrypoint.formats import is_true
from deeptempo_entrypoint.spec.model import Spec

PLATFORM = "systemd"
Unit = dict[str, list[tuple[str, str, int]]]  # section -> [(key, value, line)]
CREDENTIAL_KEYS = ("LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted")


def parse_unit(text: str) -> Unit:
    """{section: [(key, value, line)]}: systemd's syntax (comments, continuation lines, repeated keys)."""
    sections: Unit = {}
    section, pending, start = None, "", 0
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


def values(unit: Unit, section: str, key: str) -> list[str]:
    """Every value of a key in order; an empty assignment resets the list, as systemd does."""
    found: list[str] = []
    for name, value, _ in unit.get(section, []):
        if name == key:
            found = [] if value == "" else [*found, value]
    return found


def last(unit: Unit, key: str, default: str | None = None) -> str | None:
    found = values(unit, "Service", key)
    return found[-1] if found else default


def split_words(value: str, where: Where, key: str) -> tuple[list[str], list[Finding]]:
    """systemd's quoting, as shlex reads it; an unbalanced quote is a finding, not a crash (and what
    the line assigns is masked in every report: it cannot be told apart from a value)."""
    try:
        return shlex.split(value), []
    except ValueError:
        for word in value.split():  # what each word assigns: its name is no value
            remember(word.partition("=")[2].strip("\"'"))
        return [], [Finding(None, ERROR, f"{key}= has an unbalanced quote; close it", "unit-syntax", where)]


def load(unit: Unit, name: str, spec: Spec) -> tuple[Workload, list[Finding]]:
    where = Where(file=name, object=name)
    findings: list[Finding] = []
    dynamic = is_true(last(unit, "DynamicUser", "no"))
    bounding = [value for key, value, _ in unit.get("Service", []) if key == "CapabilityBoundingSet"]
    exec_start = last(unit, "ExecStart", "") or ""
    environment = []
    for key, value, line in unit.get("Service", []):
        if key == "Environment":
            words, problems = split_words(value, where.at(line), key)
            findings += problems
            environment += [_assignment(word, line) for word in words]
    workload = Workload(
        PLATFORM, where, user="(dynamic)" if dynamic else last(unit, "User"),
        read_only_root=(last(unit, "ProtectSystem") or "").lower() in ("strict", "full"), mounts=_mounts(unit),
        cap_add=" ".join(values(unit, "Service", "AmbientCapabilities")).split(),
        cap_drop=["ALL"] if bounding and bounding[-1] == "" else [],
        privilege_escalation=not is_true(last(unit, "NoNewPrivileges", "no")),
        privileged=bool(set(_exec_prefix(exec_start)) & {"+", "!"}),
        environment=environment, home=next((e.literal for e in environment if e.name == "HOME"), None))
    workload.texts = list(manifest_texts(unit, where))
    findings += _secret_routes(workload, SpecView(spec), unit)
    return workload, findings


# Lines whose words a unit gives its processes (commands) or publishes about itself (systemctl status,
# the journal's fields): a secret's shape anywhere in one is a literal secret.
EXEC_KEYS = ("ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost")
PUBLISHED_KEYS = {"Unit": ("Description", "Documentation"), "Service": ("LogExtraFields", *EXEC_KEYS)}


def manifest_texts(unit: Unit, where: Where) -> Iterator[ManifestText]:
    """Each command line and published line of the unit, whole (its quoting need not be balanced to be judged)."""
    for section, keys in PUBLISHED_KEYS.items():
        for key, value, line in unit.get(section, []):
            if key in keys:
                yield ManifestText(f"{key}=", value, where=where.at(line))


def _exec_prefix(command: str) -> str:
    """ExecStart='s special prefixes: `+` and `!` run the command with full privileges, whatever User= says."""
    return command[: len(command) - len(command.lstrip("-@:+!|"))]


def _assignment(word: str, line: int) -> EnvironmentEntry:
    key, _, value = word.partition("=")
    return EnvironmentEntry(key, literal=value, line=line)


def _mounts(unit: Unit) -> list[Mount]:
    mounts = [Mount("/tmp", TMPFS)] if is_true(last(unit, "PrivateTmp", "no")) else []
    mounts += [Mount(f"/var/lib/{directory}", VOLUME, directory)
               for value in values(unit, "Service", "StateDirectory") for directory in value.split()]
    mounts += [Mount(path.lstrip("-"), HOST_PATH, path.lstrip("-"))
               for value in values(unit, "Service", "ReadWritePaths") for path in value.split()]
    for key, writable in (("BindPaths", True), ("BindReadOnlyPaths", False)):
        for value in values(unit, "Service", key):
            for pair in value.split():
                source, _, target = pair.lstrip("-").partition(":")
                mounts.append(Mount(target.split(":")[0] or source, HOST_PATH, source, writable))
    return mounts


def _secret_routes(workload: Workload, view: SpecView, unit: Unit) -> list[Finding]:
    routes = workload.secret_routes
    for key in CREDENTIAL_KEYS:
        for value in values(unit, "Service", key):
            credential, _, rest = value.partition(":")
            entry = view.entry_for_key(credential)
            if entry:
                routes.setdefault(entry.name, f"{key} {entry.name}")
            if key == "SetCredential":
                workload.environment.append(EnvironmentEntry(credential, literal=rest))  # written in the unit
    findings: list[Finding] = []
    for value in values(unit, "Service", "EnvironmentFile"):
        path, optional = value.lstrip("-"), value.startswith("-")
        read = _env_file(path)
        if read is None and optional:
            continue  # `-`: settings that may be absent; nothing is taken to come from it
        if read is None:
            routes.update({entry.name: f"EnvironmentFile {path}" for entry in view.secrets if entry.name not in routes})
            if not findings:
                findings.append(Finding(None, WARNING, f"EnvironmentFile {path} cannot be read here, so its keys were "
                                                       "not checked; every secret is taken to come from it",
                                        "secret-source", workload.where))
            continue
        for key, item in read.items():
            view.remember(key, item)
            entry = view.secret_entry_for_key(key)
            if entry and item:
                routes.setdefault(entry.name, f"EnvironmentFile {path}")
            workload.carried_values.append(CarriedValue(key, item, f"EnvironmentFile {path}"))
    return findings


def _env_file(path: str) -> dict[str, str] | None:
    if "%" in path or not os.path.isfile(path) or not os.access(path, os.R_OK):
        return None
    from deeptempo_entrypoint.envfile.reader import read_env_file

    try:
        return {key: value or "" for key, value in read_env_file(path, strict=False).values.items()}
    except ConfigError:
        return None
