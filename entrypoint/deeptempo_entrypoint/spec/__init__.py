"""Loading the secrets spec.

The built-in spec is the literal in builtin.py, which tests prove equal to spec.yaml after its schema
and consistency checks: the start-up path parses neither YAML nor JSON Schema, nor even JSON. A user's own spec
(--spec or DEEPTEMPO_SECRETS_SPEC) gets the full checks once per content (spec/cache.py).
"""

import functools
import os

from deeptempo_entrypoint.constants import SPEC_VARIABLE as SPEC_ENV
from deeptempo_entrypoint.errors import SpecError
from deeptempo_entrypoint.spec.builtin import SPEC
from deeptempo_entrypoint.spec.model import BUILTIN_ORIGIN, Entry, Spec
from deeptempo_entrypoint.trust import FIX, untrusted_writer

__all__ = ["Entry", "Spec", "load_spec", "builtin_spec", "SPEC_ENV"]


@functools.cache
def builtin_spec() -> Spec:
    """The built-in spec: a constant of the package, built once per process."""
    return Spec(SPEC, origin=BUILTIN_ORIGIN)


def load_spec(path: str | os.PathLike[str] | None = None) -> Spec:
    """The spec at `path`, else at $DEEPTEMPO_SECRETS_SPEC, else the built-in one."""
    path = path or os.environ.get(SPEC_ENV) or None
    if path is None:
        return builtin_spec()
    # Here, not at the top: the cache's hashing and I/O (measured: 7 ms) are a user's spec's alone.
    from deeptempo_entrypoint.spec.cache import compile_spec_file_cached

    writer = untrusted_writer(os.fspath(path))
    if writer:
        raise SpecError(f"spec {os.fspath(path)}: refused, {writer}: another user could change what the service "
                        f"validates; {FIX}")
    return Spec(compile_spec_file_cached(path), origin=os.fspath(path))
