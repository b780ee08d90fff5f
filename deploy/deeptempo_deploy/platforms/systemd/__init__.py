"""systemd and plain servers: hardened units rendered from the spec (EnvironmentFile=, LoadCredential=,
and a template unit per environment), verified with systemd-analyze and the kit's rules."""

INSTALL_PREFIX = "/opt/deeptempo"  # README.md, "Plain servers and systemd": python3 -m venv /opt/deeptempo/venv
ENTRYPOINT = f"{INSTALL_PREFIX}/venv/bin/deeptempo-entrypoint"
CONFIG_DIR = "/etc/deeptempo"
CREDENTIALS_DIR = f"{CONFIG_DIR}/credentials"
