"""Reading and writing .env files with python-dotenv's grammar (interpolation off: secrets are literal)."""

from deeptempo_entrypoint.envfile.reader import EnvFile, read_env_file
from deeptempo_entrypoint.envfile.writer import update_env_file

__all__ = ["EnvFile", "read_env_file", "update_env_file"]
