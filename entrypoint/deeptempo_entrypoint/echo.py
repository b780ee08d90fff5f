"""Whether a value may be quoted in a message (a setting's, a path, a module name): short, one printable
line, none of the values the caller withholds (what its run resolved as secrets or read from env-files:
Resolution.withheld), and no part of the shape of a secret (Spec.secret_spans: a secret's format
anywhere in it, a URL with a password). So `SECRETS_BACKEND=<a pasted API key>` or
`LOG_LEVEL=postgresql://u:pw@db/x` is never echoed, whatever the message.

What a run withholds is passed by whoever decides, never kept here: the decision is a function of its
arguments."""

from collections.abc import Collection, Mapping

from deeptempo_entrypoint.spec import builtin_spec
from deeptempo_entrypoint.spec.model import Spec

ECHO_LIMIT = 40  # a setting's value longer than this is never quoted: it could be a pasted secret
MIN_WITHHELD = 4  # shorter values are not withheld: they would forbid quoting most words


def safe_to_echo(value: str, spec: Spec | None = None, withheld: Collection[str] = (), limit: int = ECHO_LIMIT) -> bool:
    """Whether `value` may appear in a message: see the module's docstring. `spec` adds its secrets'
    shapes to the built-in spec's (a user's spec may leave the built-in secrets out: theirs still count)."""
    if len(value) > limit or not value.isprintable():
        return False
    if any(len(held) >= MIN_WITHHELD and held in value for held in withheld):
        return False
    builtin = builtin_spec()
    shapes = [builtin] if spec is None or spec.origin == builtin.origin else [spec, builtin]
    return not any(shape.secret_spans(value) for shape in shapes)


def environment_secrets(environ: Mapping[str, str], spec: Spec | None = None) -> set[str]:
    """The values `environ` holds under the names of the spec's secrets (every alias): what a library
    call withholds in its messages where no resolution was made (a served app's os.environ holds them)."""
    return {environ[name] for entry in (spec or builtin_spec()).secrets for name in entry.lookup_names
            if len(environ.get(name) or "") >= MIN_WITHHELD}
