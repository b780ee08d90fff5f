"""What each of uvicorn's processes runs before the app: serve passes `--http
deeptempo_entrypoint.worker:BoundedH11Protocol`, and uvicorn imports the protocol class (from http_limits) in every
worker before it imports the app. A worker then takes serve's handoff of the secrets, keeps them from its
own children, and follows the file-delivered ones (a no-op in the serving process itself, which did all
of that before it started uvicorn)."""

from deeptempo_entrypoint.handoff import receive
from deeptempo_entrypoint.http_limits import BoundedH11Protocol

__all__ = ["BoundedH11Protocol"]


def _start_worker() -> None:
    document = receive()
    if document is None or not document.get("files"):
        return
    from deeptempo_entrypoint.children import Scope
    from deeptempo_entrypoint.rotation import start_following
    from deeptempo_entrypoint.spec import load_spec
    from deeptempo_entrypoint.spec.model import BUILTIN_ORIGIN

    origin = document.get("spec")
    start_following(document["files"], Scope.from_dict(document["scope"]),
                    load_spec(None if origin in (None, BUILTIN_ORIGIN) else origin))


_start_worker()
