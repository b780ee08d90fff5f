"""The built-in app, so the kit runs on its own: the DeepTempo backend's health path and a secrets
status that shows names and sources, never values. The real backend: README.md, "Serving the DeepTempo backend"."""


from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from deeptempo_entrypoint import __version__
from deeptempo_entrypoint.constants import (
    CREDENTIALS_LABEL,
    DEFAULT_LABEL,
    FILE_SUFFIX,
    HEALTH_PATH,
    SECRETS_DIR_LABEL,
    SERVICE_NAME,
    SOURCES_VARIABLE,
)
from deeptempo_entrypoint.rotation import rotation_policy, rotation_status
from deeptempo_entrypoint.secrets_manager import get_secrets_manager
from deeptempo_entrypoint.spec import load_spec

SPEC = load_spec()


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "healthy", "version": __version__, "service": SERVICE_NAME, "app": "built-in"})


async def secrets_status(request: Request) -> JSONResponse:
    status = get_secrets_manager().get_backend_status()
    status["instance"] = os.getpid()  # the app process serving: a restart (a rotated secret) changes it
    sources = json.loads(os.environ.get(SOURCES_VARIABLE) or "{}")
    status["secrets"] = secrets = dict[str, dict[str, object]]()
    for entry in SPEC:
        # A setting nobody set shows as its default: serve's (SECRETS_BACKEND=env) or the spec's.
        source = sources.get(entry.name) or (DEFAULT_LABEL if entry.default is not None else None)
        secrets[entry.name] = {"set": source not in (None, DEFAULT_LABEL), "source": source, "kind": entry.kind}
        if entry.is_secret:
            source = sources.get(entry.name) or ""
            from_file = source in (SECRETS_DIR_LABEL, CREDENTIALS_LABEL) or source.endswith(FILE_SUFFIX)
            secrets[entry.name].update({**rotation_policy(entry, from_file), **rotation_status(entry.name)})
            if not from_file or entry.rotation != "follow":
                secrets[entry.name]["rotates"] = from_file and entry.rotation == "restart"
    return JSONResponse(status)


app = Starlette(routes=[Route(HEALTH_PATH, health), Route("/api/secrets/status", secrets_status)])
