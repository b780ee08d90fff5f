"""The guide's "Migration from Keyring" as one step: the spec's secrets found in the OS keyring are
copied into a .env file (mode 0600, one atomic write), and optionally deleted from the keyring."""

from entrypoint.envfile import update_env_file
from entrypoint.sources.keyring import KeyringSource


def migrate_keyring(spec, target_path, delete=False, keyring_source=None):
    """Returns [(canonical name, name it was stored under)] of the secrets moved."""
    keyring_source = keyring_source or KeyringSource()
    found = {}
    for entry in spec:
        if not entry.is_secret:
            continue
        for name in entry.lookup_names:
            value = keyring_source.lookup(name)
            if value:
                found[entry.name] = (name, value)
                break
    if found:
        update_env_file(target_path, {name: value for name, (_, value) in found.items()})
    if delete:
        for stored_as, _ in found.values():
            keyring_source.delete(stored_as)
    return [(name, stored_as) for name, (stored_as, _) in found.items()]
