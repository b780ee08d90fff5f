"""The rules every platform's verify shares, over a platform-neutral view of a manifest. Each returns
findings (entrypoint.findings) that name the secret or field and the rule, never a value."""

from entrypoint.constants import DATA_DIR, STATE_DIR
from entrypoint.findings import ERROR, WARNING, Finding


def reachability_findings(spec, reachable, where):
    """Every required secret must reach the container, `one_of` groups by at least one member and
    `all_or_none` groups by all of their members or none. `reachable` maps a spec name to how it
    arrives (for the report's sources); `where` names the manifest part, for the message."""
    findings = []
    for entry in spec:
        if entry.rule == "required" and entry.name not in reachable:
            findings.append(Finding(entry.name, ERROR, f"[secret-reachable] {where}: the required {entry.name} reaches "
                                                       "the container by no env-file, environment reference or secret"))
    for group, members in spec.groups.items():
        names = [member.name for member in members]
        present = [name for name in names if name in reachable]
        if members[0].rule == "one_of" and not present:
            findings.append(Finding(names[0], ERROR, f"[secret-reachable] {where}: none of {', '.join(names)} reaches the "
                                                     "container; one of them is required"))
        elif members[0].rule == "all_or_none" and present and len(present) < len(names):
            missing = [name for name in names if name not in present]
            findings.append(Finding(missing[0], ERROR, f"[secret-reachable] {where}: {', '.join(present)} reaches the "
                                                       f"container but {', '.join(missing)} does not; the {group} group "
                                                       "needs all of them or none"))
    return findings


def writable_state_findings(read_only, mounted_paths, where):
    """A read-only root needs writable mounts where the backend writes: ~/.deeptempo (it opens its log
    there at import, so it dies at start without one) and its JSON storage (used without PostgreSQL)."""
    if not read_only:
        return []
    mounted = {path.rstrip("/") for path in mounted_paths}
    findings = []
    if STATE_DIR not in mounted:
        findings.append(Finding(None, ERROR, f"[writable-state] {where}: the root is read-only but nothing writable is "
                                             f"mounted at {STATE_DIR} (the app's log and saved settings)"))
    if DATA_DIR not in mounted:
        findings.append(Finding(None, WARNING, f"[writable-state] {where}: nothing writable at {DATA_DIR}: the "
                                               "backend's JSON storage fails on its first save without PostgreSQL"))
    return findings


def literal_secret_finding(key, where):
    return Finding(key, ERROR, f"[no-literal-secret] {where}: {key} is written literally; pass it by reference "
                               "(an env-file, a secret, or a variable from the environment) so the value stays out of the manifest")

