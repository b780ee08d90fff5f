"""A stand-in app that starts children the way the DeepTempo backend does: an interpreter at start-up
(its `pip --version`), a long-lived `Popen`ed server (its findings server), a secret written into
os.environ at start (its GITHUB_TOKEN), `pgrep`-style commands on a request through `subprocess`,
`os.system`, an asyncio subprocess and an explicit copy of os.environ, a program the spec allows a
secret to (`printenv`, given a copy of os.environ), and a `multiprocessing` spawn pool reading a secret
through the library. Each
child writes the environment it received to $CHILDREN_OUT/<name>; the app answers what it reads itself
(values of test canaries only)."""

import asyncio
import json
import multiprocessing
import os
import subprocess
import sys

from deeptempo_entrypoint.secrets_manager import get_secret
from tests.helpers import CANARY_GITHUB

OUT = os.environ.get("CHILDREN_OUT", "/tmp")
DUMP = "import os, sys; open(sys.argv[1], 'w').write('\\n'.join(f'{k}={v}' for k, v in os.environ.items()))"


def _dump(name: str) -> list[str]:
    return [sys.executable, "-c", DUMP, os.path.join(OUT, name)]


def pool_reads(name: str) -> tuple[str | None, str]:
    with open("/proc/self/environ", "rb") as stream:
        inherited = stream.read().decode(errors="replace")
    return get_secret(name), inherited


async def _children() -> dict[str, object]:
    worker = os.getpid()
    subprocess.run(_dump(f"subprocess-{worker}"), check=True)
    subprocess.run(_dump(f"copy-{worker}"), check=True, env=os.environ.copy())  # the backend's MCPServer.start
    os.system(f"env > {os.path.join(OUT, f'os-system-{worker}')}")
    process = await asyncio.create_subprocess_exec(*_dump(f"asyncio-{worker}"))
    await process.wait()
    allowed = subprocess.run(["printenv", "SPLUNK_PASSWORD"], capture_output=True, text=True, env=dict(os.environ)).stdout.strip()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool_value, pool_environ = pool.apply(pool_reads, ("CLAUDE_API_KEY",))
    with open("/proc/self/environ", "rb") as stream:
        own_environ = stream.read().decode(errors="replace")
    return {"pid": worker, "reads": os.environ.get("CLAUDE_API_KEY"), "library": get_secret("CLAUDE_API_KEY"),
            "allowed": allowed, "pool_value": pool_value, "pool_environ": pool_environ, "own_environ": own_environ}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                os.environ["GITHUB_TOKEN"] = CANARY_GITHUB  # the backend's main.py does this
                subprocess.run(_dump(f"startup-{os.getpid()}"), check=True)  # the backend's `pip --version`
                app.server = subprocess.Popen(_dump(f"popen-{os.getpid()}"))  # its findings server
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b'{"status": "healthy"}'
    if scope["path"] == "/children":
        body = json.dumps(await _children()).encode()
    elif scope["path"] == "/key":
        body = json.dumps({"key": get_secret("CLAUDE_API_KEY"), "environ": os.environ.get("CLAUDE_API_KEY")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
