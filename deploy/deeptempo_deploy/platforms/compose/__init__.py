"""Docker Compose: render the Docker secrets override from the spec, verify compose files."""

SERVICE = "deeptempo"
SECRETS_OVERRIDE = "docker-compose.secrets.yml"
SECRETS_HOST_DIR_VARIABLE = "DEEPTEMPO_SECRETS_HOST_DIR"
