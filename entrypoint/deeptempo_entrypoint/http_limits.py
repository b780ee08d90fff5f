"""uvicorn's h11 protocol with a deadline for a request's head: uvicorn closes a keep-alive connection
that idles after a response (`--timeout-keep-alive`), but waits without end for the first request of a
connection, so idle or slow clients (slowloris) are held open for ever. Here a connection that has not
sent a complete request head within HEAD_SECONDS is closed. serve gives it to uvicorn.Config as its
`http` protocol; uvicorn's own `--http` after `--` replaces it.

It subclasses uvicorn's H11Protocol, using what the class offers without an underscore (its loop,
transport and current cycle): the tests run it on the lowest uvicorn the kit admits and on the locked
one (the kit's metadata admits no other range)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS_VARIABLE = "DEEPTEMPO_REQUEST_HEAD_TIMEOUT"
DEFAULT_HEAD_SECONDS = 10.0


def head_seconds() -> float:
    try:
        value = float(os.environ.get(HEAD_SECONDS_VARIABLE) or DEFAULT_HEAD_SECONDS)
    except ValueError:
        return DEFAULT_HEAD_SECONDS
    return value if 0 < value <= 3600 else DEFAULT_HEAD_SECONDS


class BoundedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline = self.loop.call_later(head_seconds(), self._head_timed_out)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and self._head_deadline is not None:  # a request head arrived
            self._head_deadline.cancel()
            self._head_deadline = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()

