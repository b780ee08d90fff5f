"""The guide's "Migration from Keyring" as one step: the spec's secrets found in the OS keyring are
copied into a .env file (mode 0600, one atomic write), and optionally deleted from the keyring."""


from deeptempo_entrypoint.envfile.writer import update_env_file
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.resolution import first_found
from deeptempo_entrypoint.sources.keyring import KeyringSource
from deeptempo_entrypoint.spec.model import Spec


def migrate_keyring(spec: Spec, target_path: str, delete: bool = False,
                    keyring_source: KeyringSource | None = None) -> list[tuple[str, str]]:
    """Returns [(canonical name, name it was stored under)] of the secrets moved."""
    keyring_source = keyring_source or KeyringSource()
    found = {}
    for entry in spec:
        if entry.is_secret:
            resolved = first_found([keyring_source], entry.lookup_names, entry.name)
            if resolved:
                found[entry.name] = resolved
    if found:
        try:
            update_env_file(target_path, {name: resolved.value for name, resolved in found.items()})
        except ValueError as exc:  # a value no env-file can hold: its message names the key, never the value
            raise ConfigError(f"migrate-keyring: {exc}; it stays in the keyring (give it as a _FILE or a secrets "
                              "directory file instead)") from None
    if delete:
        for resolved in found.values():
            keyring_source.delete(resolved.found_as)
    return [(name, resolved.found_as) for name, resolved in found.items()]
