"""`status`: the guide's get_backend_status() plus, per spec entry, the source that provides it.
It replaces the guide's `printenv | grep` step, which printed the values."""

from entrypoint.launch import check_configuration
from entrypoint.secrets_manager import SecretsManager
from entrypoint.sources.chains import process_environ


def secrets_status(spec, environ=None, env_file=None):
    environ = process_environ(environ)
    resolution, findings = check_configuration(spec, environ, env_file)
    sources = resolution.sources()
    return {
        "backends": SecretsManager(environ=environ, dotenv_path=env_file).get_backend_status(),
        "secrets": {entry.name: {"kind": entry.kind, "service": entry.service, "source": sources.get(entry.name)} for entry in spec},
        "findings": [finding.as_dict() for finding in findings],
    }


def format_status(report):
    backends = report["backends"]
    lines = [f"write backend: {backends['write_backend']}", "backends:"]
    for name in ("environment", "dotenv", "keyring"):
        backend = backends[name]
        where = f" {backend['path']}" if "path" in backend else ""
        lines.append(f"  {name:<12} {'available' if backend['available'] else 'unavailable':<12} {backend['description']}{where}")
    lines.append("secrets:")
    width = max(map(len, report["secrets"]))
    for name, info in report["secrets"].items():
        lines.append(f"  {name:<{width}}  {('from ' + info['source']) if info['source'] else 'not set'}")
    for finding in report["findings"]:
        lines.append(f"  {finding['level']}: {finding['secret'] + ': ' if finding['secret'] else ''}{finding['message']}")
    return "\n".join(lines)
