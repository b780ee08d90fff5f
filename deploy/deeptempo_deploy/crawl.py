"""smoke's leak crawl: the app's routes (its OpenAPI document's GET routes without parameters, and the
ones a user names), each requested once within bounds, and the answers searched for a secret's canary or
a run of its random part. Requests go to the container under test only, on 127.0.0.1; no method but
GET unless the user names it."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from deeptempo_deploy.canaries import LeakSearch

OPENAPI_PATH = "/openapi.json"
REQUEST_SECONDS = 3
OPENAPI_BYTES = 4 << 20


class Answer(NamedTuple):
    method: str
    path: str
    status: int
    body: str  # what the route answered (bounded): searched, never printed

    def __repr__(self) -> str:  # the body may hold the very secret the crawl looks for
        return f"Answer({self.method} {self.path}, {self.status})"


def _request(url: str, method: str, limit: int, timeout: float, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Accept": "application/json, */*", **({"Content-Type": "application/json"} if body is not None else {})}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(limit)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(limit) if exc.fp else b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def openapi_routes(base: str) -> tuple[list[tuple[str, str]], str]:
    """The GET routes without path parameters that the app's OpenAPI document lists, and a note saying
    where they came from (or why there are none)."""
    status, body = _request(base + OPENAPI_PATH, "GET", OPENAPI_BYTES, REQUEST_SECONDS)
    if status != 200:
        return [], f"no OpenAPI document at {OPENAPI_PATH} (it answered {status or 'nothing'})"
    try:
        paths = json.loads(body).get("paths") or {}
    except (ValueError, AttributeError):
        return [], f"{OPENAPI_PATH} is not an OpenAPI document"
    routes = [("GET", path) for path, operations in paths.items()
              if isinstance(operations, dict) and "get" in operations and "{" not in path]
    skipped = sum(1 for path, operations in paths.items() if isinstance(operations, dict) and "get" in operations and "{" in path)
    note = f"{len(routes)} GET routes from {OPENAPI_PATH}" + (f", {skipped} with path parameters left out" if skipped else "")
    return routes, note


def crawl_routes(base: str, routes: Sequence[tuple[str, str]], seconds: float, limit: int) -> list[Answer]:
    """Each route requested once, in order, until `seconds` have passed; the answers that came."""
    deadline = time.monotonic() + seconds
    answers = []
    for method, path in routes:
        if time.monotonic() > deadline:
            break
        status, body = _request(base + path, method, limit, min(REQUEST_SECONDS, max(0.1, deadline - time.monotonic())))
        if status:
            answers.append(Answer(method, path, status, body.decode("utf-8", errors="replace")))
    return answers


def seed(base: str, method: str, path: str, document: str, values: Mapping[str, str]) -> int:
    """Send one request whose JSON body carries canaries: each `${NAME}` in `document` becomes the
    canary of secret NAME (JSON-escaped), so that a route that stores what it is sent and a route that
    echoes what was stored can be caught. The answer's status (0: none came)."""
    body = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda found: json.dumps(values.get(found.group(1), ""))[1:-1], document)
    status, _ = _request(base + path, method, OPENAPI_BYTES, REQUEST_SECONDS, body.encode())
    return status


def find_leaks(answers: Sequence[Answer], search: LeakSearch) -> list[str]:
    """One line per route and secret whose canary, or a run of its random part too long to be there by
    chance (deeptempo_deploy.canaries), the answer holds: the route and the secret's name, never the
    characters."""
    leaks = []
    for answer in answers:
        for name, whole in search.find(answer.body):
            what = f"{name} in full" if whole else f"part of {name} (a run of its random characters)"
            leaks.append(f"{answer.method} {answer.path} ({answer.status}) answers {what}")
    return leaks
