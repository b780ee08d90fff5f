"""Secret sources. Each is a small object answering `lookup(name)`; an ordered list of them *is* the
precedence (the first that has a non-empty value wins): sources/chains.py builds it. Adding a source
means adding one class.

Interface: `base.SecretSource` (`label`, `lookup`, `findings`, `offered_names`, `variables_to_unset`);
the guide's write backends also implement `base.WritableSource` (`write`, `delete`).
"""
