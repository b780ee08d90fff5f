"""Holding a new instance of the app back until the old one has stopped, through the ASGI specification
alone.

uvicorn runs the app's lifespan start-up, and accepts connections only once the app has sent
`lifespan.startup.complete`. The gate wraps the app: when the app's own start-up has completed, it tells
the supervisor (`ready`), waits for its word (`wait`, in a thread, so the tasks the app's start-up left
running go on), and only then passes `lifespan.startup.complete` on. An app without a lifespan (uvicorn's
`--lifespan off`, or one that refuses the lifespan scope) is gated all the same: the gate then speaks the
protocol alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class StartGate:
    """`app` behind the gate. `ready()` says the app's start-up completed; `wait()` blocks until the
    supervisor lets this instance serve (True) or abandons it (False: the start-up is reported failed,
    and uvicorn exits without having accepted a connection)."""

    def __init__(self, app: ASGIApp, ready: Callable[[], None], wait: Callable[[], bool], app_lifespan: bool = True,
                 serving: Callable[[], None] | None = None) -> None:
        self.app = app
        self.ready = ready
        self.wait = wait
        self.app_lifespan = app_lifespan
        self.serving = serving  # called in the event loop once the instance may serve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        if not self.app_lifespan:
            await self._lifespan_alone(receive, send)
            return
        received = False

        async def receiving() -> Message:
            nonlocal received
            received = True
            return await receive()

        async def gated(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and not await self._opened():
                message = {"type": "lifespan.startup.failed", "message": "the supervisor abandoned this instance"}
            await send(message)

        try:
            await self.app(scope, receiving, gated)
        except Exception:
            if received:
                raise  # the app's own start-up or shut-down failed: uvicorn reports it
            await self._lifespan_alone(receive, send)  # the app refuses the lifespan scope: it has none

    async def _opened(self) -> bool:
        self.ready()
        opened = await asyncio.to_thread(self.wait)
        if opened and self.serving is not None:
            self.serving()
        return opened

    async def _lifespan_alone(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                opened = await self._opened()
                await send({"type": "lifespan.startup.complete"} if opened else
                           {"type": "lifespan.startup.failed", "message": "the supervisor abandoned this instance"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
