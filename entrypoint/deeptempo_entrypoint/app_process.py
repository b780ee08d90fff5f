"""One process of the app: its environment, its secrets kept from its children, its file-delivered
secrets followed, then uvicorn's server, built from uvicorn's documented Config and Server.

serve runs it in its own process (one worker, no secret that needs a restart), or a supervisor starts it
through multiprocessing's spawn start method (deeptempo_entrypoint.supervisor): the plan, secrets
included, then travels through the pipe multiprocessing reads the new process's arguments from, which is
closed once read, so nothing the app's children inherit names it."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from socket import socket
from typing import Any

import uvicorn

from deeptempo_entrypoint import scoping
from deeptempo_entrypoint.constants import HEALTH_PATH
from deeptempo_entrypoint.echo import safe_to_echo
from deeptempo_entrypoint.errors import ConfigError, KitError
from deeptempo_entrypoint.rotation import start_following
from deeptempo_entrypoint.scoping import Scope
from deeptempo_entrypoint.served_address import write_served_address
from deeptempo_entrypoint.spec import load_spec
from deeptempo_entrypoint.spec.model import BUILTIN_ORIGIN
from deeptempo_entrypoint.start_gate import StartGate

STARTUP_FAILURE = 3  # uvicorn's exit code when the app could not be started


@dataclass
class AppPlan:
    """Everything an app process needs. `environment` is the app's os.environ (secrets included: kept
    from the app's children by `scope`, None when every child inherits them); `followed` maps the
    secrets whose new values the app takes without a restart to their files."""

    app: str
    config: dict[str, Any]
    environment: dict[str, str]
    scope: Scope | None = None
    followed: dict[str, str] = field(default_factory=dict)
    spec_origin: str = BUILTIN_ORIGIN
    app_dir: str | None = None
    address: tuple[str, str] = ("", "")
    withheld: frozenset[str] = frozenset()  # the values no message of the app process quotes (its secrets)

    def __repr__(self) -> str:  # the environment holds secrets: its keys only
        return f"AppPlan({self.app!r}, environment_keys={sorted(self.environment)}, followed={sorted(self.followed)})"


def take_environment(plan: AppPlan) -> None:
    """os.environ becomes the plan's, as an exec would have given it; then no child inherits a kept
    secret (deeptempo_entrypoint.scoping), and the followed files are checked while the app runs."""
    os.environ.clear()
    os.environ.update(plan.environment)
    if plan.scope is not None:
        scoping.install(plan.scope)
    if plan.followed:
        start_following(plan.followed, load_spec(None if plan.spec_origin == BUILTIN_ORIGIN else plan.spec_origin))
    for entry in reversed([plan.app_dir or "", *plan.environment.get("PYTHONPATH", "").split(os.pathsep)]):
        if entry and entry not in sys.path:  # an exec'd interpreter would have read PYTHONPATH at start
            sys.path.insert(0, entry)


def serve_app(plan: AppPlan, sockets: list[socket] | None = None, gate: Connection | None = None) -> int:
    """Run uvicorn's server for the plan's app until it stops; uvicorn's exit code (3: not started).
    With a gate (a supervisor's pipe), the app starts up, says so, and serves only when told."""
    take_environment(plan)
    app_lifespan = plan.config.get("lifespan", "auto") != "off"
    config = uvicorn.Config(plan.app, **(gated_config(plan.config) if gate else plan.config))
    quiet_health_probes(os.environ.get("DEEPTEMPO_HEALTH_PATH") or HEALTH_PATH)  # take_environment set it
    load_app(config, plan.app, plan.withheld)
    server = uvicorn.Server(config)
    if gate is not None:
        config.loaded_app = StartGate(config.loaded_app, lambda: gate.send("ready"), lambda: _told_to_serve(gate),
                                      app_lifespan, lambda: _drain_when_told(gate, server))
    if sockets is None:
        write_served_address(*plan.address)
    sys.stdout.flush()
    sys.stderr.flush()
    server.run(sockets=sockets)
    return 0 if server.started else STARTUP_FAILURE


class _HealthProbeFilter(logging.Filter):
    """Drops the access-log line of each passed health check from the container itself (a 200 for the
    health path from loopback: Docker's, Compose's and ECS's probes run in the container every second),
    which would bury `docker compose logs` under one line a second. Failed checks and every other
    client's request are still logged."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) < 5:
            return True
        client, _method, path, _version, status = args[:5]
        from_loopback = str(client).startswith(("127.", "::1", "[::1]"))
        return not (from_loopback and str(path).split("?")[0] == self.path and status == 200)


def quiet_health_probes(path: str) -> None:
    """Install _HealthProbeFilter on uvicorn's access log (after uvicorn.Config configured logging)."""
    logging.getLogger("uvicorn.access").addFilter(_HealthProbeFilter(path))


def load_app(config: uvicorn.Config, app: str, withheld: frozenset[str] = frozenset()) -> None:
    """uvicorn imports the app; a module the app imports that is missing fails the same way at every
    start: a configuration error naming it (78), not a traceback."""
    try:
        config.load()
    except ModuleNotFoundError as exc:
        missing = exc.name if exc.name and safe_to_echo(exc.name, withheld=withheld) else "a module it imports"
        module = app.partition(":")[0]
        hint = (" (the DeepTempo backend imports its siblings as top-level modules: APP_MODULE=main:app, APP_DIR=<repository>/backend)"
                if module.endswith(".main") else "")
        raise ConfigError(f"APP_MODULE: importing {module if safe_to_echo(module, withheld=withheld) else 'the app'} fails: no module named "
                          f"{missing}; install it, or set APP_DIR and PYTHONPATH so that it is found{hint}") from None


def gated_config(config: dict[str, Any]) -> dict[str, Any]:
    """An app process a supervisor restarts: its lifespan always runs (the gate is part of it), and its
    event loop is asyncio's own unless another was asked for (its accepting can be paused: _stop_accepting)."""
    return {"loop": "asyncio", **config, "lifespan": "on"}


def _told_to_serve(gate: Connection) -> bool:
    """The supervisor's word, waited for in a thread: serve (True), or abandoned (False)."""
    try:
        return bool(gate.recv() == "serve")
    except (EOFError, OSError):
        return False  # the supervisor is gone, or abandoned this instance


def _drain_when_told(gate: Connection, server: uvicorn.Server) -> None:
    """In the event loop, once serving: a thread waits for the supervisor's "drain" (a restart: the new
    instance is ready), then this instance stops accepting connections, so that those it accepted send
    their requests and get their answers before SIGTERM closes the idle ones; connections that arrive
    meanwhile wait in the shared socket's backlog for the new instance."""
    loop = asyncio.get_running_loop()

    def listen() -> None:
        try:
            if gate.recv() == "drain":
                loop.call_soon_threadsafe(_stop_accepting, server)
        except (EOFError, OSError):
            pass

    threading.Thread(target=listen, name="deeptempo-drain", daemon=True).start()


def _stop_accepting(server: uvicorn.Server) -> None:
    """Stop the event loop watching the listening socket, and nothing else: uvicorn's own close at
    SIGTERM then finds no accept in flight. (asyncio's Server.close() loses a connection it accepted in
    the same moment, which then sees a reset; the selector loop accepts through a reader on the socket,
    which loop.remove_reader takes away. serve gives a restarting app asyncio's loop: plan_config.)"""
    loop = asyncio.get_running_loop()
    for listening in server.servers:
        watched = [loop.remove_reader(sock.fileno()) for sock in listening.sockets]
        if not all(watched):  # a loop that accepts otherwise (uvloop, given with -- --loop): close, at best
            listening.close()


def spawned(plan: AppPlan, sockets: list[socket] | None, gate: Connection) -> None:
    """multiprocessing's target in a process the supervisor started: a configuration error is said in
    one line and ends it with its code (the supervisor then ends with it)."""
    try:
        sys.exit(serve_app(plan, sockets, gate))
    except KitError as exc:
        print(f"deeptempo-entrypoint: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
