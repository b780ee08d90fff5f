"""DeepTempo AI SOC deployment kit: secrets library, secrets spec and the container entrypoint."""

__version__ = "0.1.0"
