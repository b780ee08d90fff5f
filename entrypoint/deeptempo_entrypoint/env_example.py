"""env.example, rendered from the spec so the two cannot drift. Values are bare (no quotes): Docker's
--env-file, Compose env_file, systemd EnvironmentFile= and Kustomize keep quotes as part of the value."""

from deeptempo_entrypoint.spec.model import ONE_OF, OPTIONAL, REQUIRED, REQUIRED_WITH, Entry, Spec

HEADER = """\
# DeepTempo AI SOC: secrets and settings.
# Generated from the secrets spec by `deeptempo-entrypoint env-example`; a test keeps them in step.
#
# Host:       install -d -m 0700 ~/.deeptempo && install -m 0600 env.example ~/.deeptempo/.env, then edit.
# Containers: pass each value through the platform (docker run -e / --env-file, Compose secrets,
#             a Kubernetes Secret, ECS secrets); see README.md.
# A value left at its placeholder is refused at start-up. Uncomment what you use.
"""


def render_env_example(spec: Spec) -> str:
    blocks, services = [HEADER], dict[str, list[Entry]]()
    for entry in spec:
        services.setdefault(entry.service, []).append(entry)
    for service, entries in services.items():
        lines = [f"# --- {service} ---"]
        for entry in entries:
            lines.append(f"# {entry.description} [{rule_text(entry, spec)}]")
            lines.append(example_line(entry, spec))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def rule_text(entry: Entry, spec: Spec) -> str:
    """The entry's rule in words, for a comment above its line."""
    if entry.rule in (REQUIRED, OPTIONAL):
        return entry.rule
    if entry.rule == REQUIRED_WITH:
        return f"required when {entry.when_set} is set"
    others = " and ".join(member.name for member in spec.groups[entry.group or ""] if member is not entry)
    return f"required unless {others} is set" if entry.rule == ONE_OF else f"optional; together with {others}"


def example_line(entry: Entry, spec: Spec) -> str:
    """NAME=placeholder, commented out unless the entry must be set (a one_of group's first member is)."""
    value = entry.placeholders[0] if entry.placeholders else (entry.default or "")
    return f"{'' if spec.is_active_example(entry) else '# '}{entry.name}={value}"
