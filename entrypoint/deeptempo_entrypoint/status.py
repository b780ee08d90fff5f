"""`status`: the guide's get_backend_status() plus, per spec entry, the source that provides it.
It replaces the guide's `printenv | grep` step, which printed the values."""

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from deeptempo_entrypoint.constants import DEFAULT_LABEL
from deeptempo_entrypoint.errors import BackendError
from deeptempo_entrypoint.findings import Finding
from deeptempo_entrypoint.launch import check_configuration
from deeptempo_entrypoint.rotation import rotation_policy
from deeptempo_entrypoint.secrets_manager import backend_status, write_backend_from
from deeptempo_entrypoint.sources.chains import deployment_sources, process_environ
from deeptempo_entrypoint.spec.model import Spec


def secrets_status(spec: Spec | None, environ: MutableMapping[str, str] | None = None, env_file: str | None = None,
                   spec_findings: Sequence[Finding] = ()) -> dict[str, Any]:
    """The status document; `spec` may be None when it could not be loaded (`spec_findings` say why).
    One source list serves the resolution and the backends' status alike."""
    environ = process_environ(environ)
    sources = deployment_sources(environ, env_file)
    resolution, findings = check_configuration(spec, sources)
    try:
        write_backend: str | None = write_backend_from(environ, resolution.withheld)
    except BackendError:  # SECRETS_BACKEND is invalid: a finding names it
        write_backend = None
    files = resolution.files(entry.name for entry in spec.secrets) if spec else {}
    secrets: dict[str, dict[str, object]] = {}
    for entry in spec or ():
        source = resolution.sources().get(entry.name) or (DEFAULT_LABEL if entry.default is not None else None)
        secrets[entry.name] = {"kind": entry.kind, "service": entry.service, "source": source}
        if source == DEFAULT_LABEL:
            secrets[entry.name]["default"] = entry.default  # a spec's default, never a secret
        if entry.is_secret:  # what a new value does, by the spec's rotation (deeptempo_entrypoint.rotation)
            secrets[entry.name].update(rotation_policy(entry, entry.name in files))
    return {"backends": backend_status(sources, write_backend), "secrets": secrets,
            "findings": [finding.as_dict() for finding in (*spec_findings, *findings)]}


def format_status(report: Mapping[str, Any]) -> str:
    backends = report["backends"]
    lines = [f"write backend: {backends['write_backend'] or 'invalid (see below)'}", "backends:"]
    for name in ("environment", "dotenv", "keyring"):
        backend = backends[name]
        where = f" {backend['path']}" if "path" in backend else ""
        state = "available" if backend["available"] else "unavailable"
        if name == "dotenv" and not backend["exists"]:
            state = "no file"
        lines.append(f"  {name:<12} {state:<12} {backend['description']}{where}")
    lines.append("secrets:")
    width = max(map(len, report["secrets"]), default=0)
    for name, info in report["secrets"].items():
        source = info["source"]
        shown = f"default ({info['default']})" if source == DEFAULT_LABEL else f"from {source}" if source else "not set"
        if source and info.get("takes"):
            shown += f"; a new value: {info['takes']}" + (f" ({info['why']})" if info.get("why") else "")
        lines.append(f"  {name:<{width}}  {shown}")
    for finding in report["findings"]:
        lines.append(f"  {finding['level']}: {finding['secret'] + ': ' if finding['secret'] else ''}{finding['message']}")
    return "\n".join(lines)
