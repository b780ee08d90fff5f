"""A stand-in for the DeepTempo backend, shaped like the original where deploying it matters: a
`backend/` directory whose main.py imports sibling packages and `secrets_manager` as top-level names,
opens a log under ~/.deeptempo at import, keeps JSON under <repository>/data, serves /api/health, a
route reading the Claude key through get_secret, and a route resetting the manager as the original's
settings endpoint does. Its secrets module is the kit's, swapped in with the README's two lines."""

import os
import textwrap

SWAP = "import sys, deeptempo_entrypoint.secrets_manager as m\nsys.modules[__name__] = m\n"

FILES = {
    "requirements.txt": "# The stand-in needs nothing beyond the kit (starlette, uvicorn).\n",
    "backend/secrets_manager.py": SWAP,
    "backend/api/__init__.py": "",
    "backend/api/config.py": '''
        from starlette.responses import JSONResponse

        from secrets_manager import get_secret, get_secrets_manager


        async def general(request):
            """The original's settings endpoint: reset the manager, rebuild it with the UI's keyring choice."""
            import secrets_manager as sm_module

            sm_module._secrets_manager = None
            manager = get_secrets_manager(enable_keyring=request.query_params.get("enable_keyring") == "true")
            from backend.secrets_manager import get_secret as get_secret_too  # the other import form

            return JSONResponse({"write_backend": manager.get_backend_status()["write_backend"],
                                 "same_key": get_secret("CLAUDE_API_KEY") == get_secret_too("CLAUDE_API_KEY")})
    ''',
    "backend/services/__init__.py": "",
    "backend/services/storage.py": '''
        import json
        from pathlib import Path

        DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # <repository>/data, like the original's fallback


        def save_case(case):
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            path = DATA_DIR / "cases.json"
            cases = json.loads(path.read_text()) if path.exists() else []
            cases.append(case)
            path.write_text(json.dumps(cases))
            return len(cases)
    ''',
    "backend/services/mcp_service.py": '''
        import subprocess
        from pathlib import Path

        # As the original's services/mcp_service.py: each Python MCP server runs with the repository's own
        # virtual environment, <repository>/venv/bin/python, and counts as connected when it starts and answers.
        REPOSITORY = Path(__file__).resolve().parents[2]
        SERVERS = sorted((REPOSITORY / "mcp-servers").glob("*/server.py"))


        def status():
            python = REPOSITORY / "venv" / "bin" / "python"
            connected = 0
            for server in SERVERS:
                try:
                    answer = subprocess.run([str(python), str(server)], capture_output=True, text=True, timeout=20)
                except OSError:
                    continue
                connected += answer.returncode == 0 and answer.stdout.strip() == "ready"
            return {"connected": connected, "total": len(SERVERS)}
    ''',
    "mcp-servers/findings/server.py": "import json, sys\nprint('ready')\n",
    "mcp-servers/timesketch/server.py": "import deeptempo_entrypoint.secrets_manager\nprint('ready')\n",
    "backend/main.py": '''
        import logging
        from pathlib import Path

        STATE = Path.home() / ".deeptempo"
        STATE.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(filename=STATE / "api.log", level=logging.INFO)  # at import, as the original

        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from api.config import general
        from secrets_manager import get_secret
        from services.storage import save_case


        async def health(request):
            return JSONResponse({"status": "healthy", "app": "stand-in backend"})


        async def claude(request):
            key = get_secret("CLAUDE_API_KEY") or get_secret("ANTHROPIC_API_KEY")
            return JSONResponse({"configured": bool(key)})


        async def cases(request):
            return JSONResponse({"saved": save_case({"id": "case-1"})})


        async def mcp_status(request):
            from services.mcp_service import status

            return JSONResponse(status())


        app = Starlette(routes=[Route("/api/health", health), Route("/api/config/claude", claude),
                                Route("/api/config/general", general, methods=["POST"]),
                                Route("/api/cases", cases, methods=["POST"]), Route("/api/mcp/status", mcp_status)])
    ''',
}


def make_backend(root):
    """Write the stand-in repository under `root`; returns its path."""
    for relative, text in FILES.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as stream:
            stream.write(textwrap.dedent(text).lstrip("\n"))
    return root
