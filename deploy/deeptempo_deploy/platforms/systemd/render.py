"""`render systemd`: the three units, sharing one hardened [Service] block; the LoadCredential= variant
gets one credential per secret of the spec."""


from __future__ import annotations

from deeptempo_deploy.platforms.spec_view import SpecView
from deeptempo_deploy.platforms.systemd import CONFIG_DIR, CREDENTIALS_DIR, ENTRYPOINT
from deeptempo_entrypoint.constants import EXIT_CONFIG
from deeptempo_entrypoint.spec.model import Spec

GENERATED = "# Generated from the secrets spec by `deeptempo-deploy render systemd`; a test keeps it equal.\n"

# Each line keeps the exposure low while the service still works (README.md lists the measured score).
# Not PrivateUsers=yes: systemd 252 cannot set its user namespace up where systemd itself runs in a
# container (the unit fails with 217/USER), and PrivateMounts=yes lowers the exposure as much.
HARDENING = """\
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
DevicePolicy=closed
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
UMask=0077
"""


def _unit(description: str, secrets_lines: str, state_directory: str, extra_environment: str = "") -> str:
    return f"""\
{GENERATED}[Unit]
Description={description}
Documentation=https://github.com/deeptempo/deeptempo-deploy#plain-servers-and-systemd
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=deeptempo
Group=deeptempo
{secrets_lines}# Loopback only, as Compose publishes it: a reverse proxy in front, or HOST=0.0.0.0 in the env-file
# (an EnvironmentFile= overrides Environment=) to listen on every interface.
Environment=SECRETS_BACKEND=env HOME=/var/lib/{state_directory} HOST=127.0.0.1{extra_environment}
StateDirectory={state_directory}
StateDirectoryMode=0700
WorkingDirectory=/var/lib/{state_directory}
ExecStart={ENTRYPOINT} serve
# A configuration error (exit {EXIT_CONFIG}) fails the same way on every start: stop instead of looping.
Restart=on-failure
RestartSec=2
RestartPreventExitStatus={EXIT_CONFIG}
TimeoutStopSec=30
{HARDENING}
[Install]
WantedBy=multi-user.target
"""


def render_units(spec: Spec) -> dict[str, str]:
    credentials = "".join(f"LoadCredential={entry.name}:{CREDENTIALS_DIR}/{entry.name}\n" for entry in SpecView(spec).secrets)
    return {
        "deeptempo.service": _unit("DeepTempo AI SOC backend (secrets from an env-file)",
                                   f"EnvironmentFile={CONFIG_DIR}/.env\n", "deeptempo"),
        "deeptempo-credentials.service": _unit(
            "DeepTempo AI SOC backend (secrets as systemd credentials)",
            "# One credential per secret of the spec, read by the serve path from $CREDENTIALS_DIRECTORY: never\n"
            "# in the environment. Every file must exist (an empty one for a secret you do not use).\n"
            f"{credentials}EnvironmentFile=-{CONFIG_DIR}/settings.env\n", "deeptempo"),
        "deeptempo@.service": _unit("DeepTempo AI SOC backend, environment %i (secrets from its env-file)",
                                    f"EnvironmentFile={CONFIG_DIR}/%i/.env\n", "deeptempo-%i"),
    }


# For a PostgreSQL on the same server. Debian's postgresql.service is ordered after every cluster it
# starts (postgresql@.service has Before=postgresql.service), so After= waits for the databases
# themselves; Wants= starts them with the service, without stopping it when they restart.
LOCAL_DATABASE_DROP_IN = "local-postgresql.conf"
LOCAL_DATABASE = f"""\
{GENERATED}# A drop-in for a PostgreSQL on this server: the backend connects once, at its start (without a
# database it would keep JSON files), so it starts after PostgreSQL. Install it for each unit you run:
#   sudo install -D -m 0644 systemd/{LOCAL_DATABASE_DROP_IN} /etc/systemd/system/deeptempo.service.d/{LOCAL_DATABASE_DROP_IN}
# and set POSTGRES_HOST=127.0.0.1 (with POSTGRES_PASSWORD) in the unit's env-file or credentials.
# A database on another host needs no drop-in: the units already wait for network-online.target.
[Unit]
After=postgresql.service
Wants=postgresql.service
"""


def render(spec: Spec) -> dict[str, str]:
    files = {f"systemd/{name}": text for name, text in render_units(spec).items()}
    files[f"systemd/{LOCAL_DATABASE_DROP_IN}"] = LOCAL_DATABASE
    return files
