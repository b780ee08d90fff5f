"""In serve mode secrets come from the platform and are written nowhere: SECRETS_BACKEND=env, keyring
off. Anything else would lose what the UI saves at the next restart, or wait on a keyring that a
container does not have, so it stops the start unless deliberately allowed."""


from deeptempo_entrypoint.constants import ALLOW_PERSISTENT_BACKEND_VARIABLE as OPT_IN
from deeptempo_entrypoint.constants import ENABLE_KEYRING_VARIABLE, SECRETS_BACKEND_VARIABLE
from deeptempo_entrypoint.findings import ERROR, Finding
from deeptempo_entrypoint.formats import is_true
from deeptempo_entrypoint.resolution import Resolution

SERVE_SETTINGS = {SECRETS_BACKEND_VARIABLE: "env", ENABLE_KEYRING_VARIABLE: "false"}

_WHY = {
    "dotenv": "a container's filesystem does not persist, so secrets saved through the UI would be lost "
              "at the next restart",
    "keyring": "there is no OS keyring in a container",
}
_HOW = (f"use SECRETS_BACKEND=env (the default here) and give secrets through the platform; to keep "
        f"dotenv deliberately, mount a persistent volume at ~/.deeptempo and set {OPT_IN}=true")


def serve_backend_findings(resolution: Resolution) -> list[Finding]:
    if is_true(resolution.value(OPT_IN)):
        return []
    findings = []
    backend = (resolution.value(SECRETS_BACKEND_VARIABLE) or "env").strip().lower()
    if backend in _WHY:
        findings.append(Finding(SECRETS_BACKEND_VARIABLE, ERROR, f"is {backend}, refused by serve: {_WHY[backend]}; {_HOW}"))
    if is_true(resolution.value(ENABLE_KEYRING_VARIABLE)):
        findings.append(Finding(ENABLE_KEYRING_VARIABLE, ERROR, f"is on, refused by serve: {_WHY['keyring']}; unset it or set "
                                                         f"ENABLE_KEYRING=false ({OPT_IN}=true overrides, on a host with a keyring)"))
    return findings


def serve_settings(resolution: Resolution) -> dict[str, str]:
    """SECRETS_BACKEND=env and ENABLE_KEYRING=false unless the user allowed and chose otherwise."""
    return {name: resolution.value(name) or default for name, default in SERVE_SETTINGS.items()}
