"""Where the backend would keep its data, told before it starts: its main.py tries PostgreSQL when
DATA_BACKEND is database (its default) and, when no database answers, keeps its data as JSON files
without a word beyond a log line (its health stays "healthy"). With no POSTGRES_HOST it tries
localhost, where a container has no database: `check` and `status` name that fallback."""


from deeptempo_entrypoint.constants import DATA_BACKEND_VARIABLE, DATABASE_HOST_VARIABLE, DATABASE_STORAGE
from deeptempo_entrypoint.findings import WARNING, Finding
from deeptempo_entrypoint.resolution import Resolution
from deeptempo_entrypoint.spec.model import Spec

RULE_STORAGE_FALLBACK = "storage-fallback"


def storage_findings(spec: Spec, resolution: Resolution) -> list[Finding]:
    """A warning when the backend would fall back to JSON files: database storage and no database host.
    Only for a spec that knows both settings (a spec of another app has no such fallback)."""
    backend_entry, host_entry = spec.by_name.get(DATA_BACKEND_VARIABLE), spec.by_name.get(DATABASE_HOST_VARIABLE)
    if backend_entry is None or host_entry is None:
        return []
    backend = (resolution.value(DATA_BACKEND_VARIABLE) or backend_entry.default or DATABASE_STORAGE).strip().lower()
    if backend != DATABASE_STORAGE or resolution.value(DATABASE_HOST_VARIABLE):
        return []
    return [Finding(DATABASE_HOST_VARIABLE, WARNING,
                    f"is not set while {DATA_BACKEND_VARIABLE} is {DATABASE_STORAGE} (its default): the backend would try "
                    f"a database on localhost and, finding none, keep its data as JSON files in its own directory without "
                    f"saying so (lost with a container, never shared between replicas); set {DATABASE_HOST_VARIABLE} "
                    f"(localhost for a database on this host) with POSTGRES_PASSWORD, or {DATA_BACKEND_VARIABLE}=json to "
                    "choose the JSON files", RULE_STORAGE_FALLBACK)]
