"""The built-in app, so the kit runs on its own: the DeepTempo backend's health path and a secrets
status that shows names and sources, never values. The real backend is APP_MODULE=backend.main:app."""

import json
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from entrypoint import __version__
from entrypoint.constants import HEALTH_PATH, SERVICE_NAME, SOURCES_VARIABLE
from entrypoint.secrets_manager import get_secrets_manager
from entrypoint.spec import load_spec

SPEC = load_spec()


async def health(request):
    return JSONResponse({"status": "healthy", "version": __version__, "service": SERVICE_NAME, "app": "built-in"})


async def secrets_status(request):
    status = get_secrets_manager().get_backend_status()
    sources = json.loads(os.environ.get(SOURCES_VARIABLE) or "{}")
    status["secrets"] = {
        entry.name: {"set": bool(os.environ.get(entry.name)), "source": sources.get(entry.name), "kind": entry.kind}
        for entry in SPEC
    }
    return JSONResponse(status)


app = Starlette(routes=[Route(HEALTH_PATH, health), Route("/api/secrets/status", secrets_status)])
