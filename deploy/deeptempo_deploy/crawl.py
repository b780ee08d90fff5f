"""smoke's leak crawl: the app's routes (its OpenAPI document's GET routes without parameters, and the
ones a user names), each requested once within bounds, and the answers searched for a secret's canary or
a run of its random part. Requests go to the container under test only, on 127.0.0.1; no method but
GET unless the user names it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import NamedTuple

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


def _request(url: str, method: str, limit: int, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/json, */*"})
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


def find_leaks(answers: Sequence[Answer], canaries: Mapping[str, tuple[str, str]], run: int) -> list[str]:
    """One line per route and secret whose canary, or `run` consecutive characters of its random part,
    appears in the answer: the route and the secret's name, never the characters."""
    windows = {name: {random[index:index + run] for index in range(len(random) - run + 1)} for name, (_, random) in canaries.items()}
    leaks = []
    for answer in answers:
        for name, (value, _) in canaries.items():
            if value in answer.body:
                leaks.append(f"{answer.method} {answer.path} ({answer.status}) answers {name} in full")
            elif any(window in answer.body for window in windows[name]):
                leaks.append(f"{answer.method} {answer.path} ({answer.status}) answers part of {name} "
                             f"({run} or more characters of its value)")
    return leaks
