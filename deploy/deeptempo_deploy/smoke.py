"""`deeptempo-deploy smoke IMAGE`: the checks a user's CI runs on an image built from the kit.

A generated canary stands in for each secret the spec requires. It reaches the containers as files in
a mounted secrets directory (never as `-e`, which `docker inspect` would show), and the last check
proves it appears in no log line and no `docker inspect` output."""


from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from deeptempo_deploy.canaries import Canary, LeakSearch, bound_text, generate, shapes
from deeptempo_deploy.crawl import crawl_routes, find_leaks, openapi_routes, seed
from deeptempo_deploy.platforms.runner import (
    DEFAULT_TIMEOUT_SECONDS,
    ContainerSpec,
    DockerRunner,
    NotHealthy,
    RunningContainer,
    inspect_json,
    numeric_user,
    writable_tmpfs,
)
from deeptempo_deploy.redaction import remember
from deeptempo_entrypoint.constants import (
    DATA_DIR,
    DEFAULT_PORT,
    DEFAULT_SECRETS_DIR,
    EXIT_CONFIG,
    HEALTH_PATH,
    SECRETS_BACKEND_VARIABLE,
    STATE_DIR,
)
from deeptempo_entrypoint.errors import ConfigError
from deeptempo_entrypoint.validation import value_problem

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from deeptempo_entrypoint.spec.model import Entry, Spec

STOP_LIMIT_SECONDS = 3
REFUSAL_LIMIT_SECONDS = 15  # the kit exits 78 within about a second; a server still up by then will not exit
CLEAN_EXIT_CODES = (0, 143)  # 143: a graceful exit re-raising SIGTERM, when no init maps it to 0
ORPHANS = "for i in 1 2 3 4 5; do (sleep 0.3 &); done"
HARDENING: dict[str, Any] = dict(read_only=True, tmpfs={"/tmp": "rw,noexec,nosuid,size=16m"}, cap_drop=["ALL"],
                 security_opt=["no-new-privileges"])


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    skipped: bool = False  # not run, `detail` says why; a skipped check fails nothing by itself


@dataclass
class SmokeOptions:
    image: str
    port: int = DEFAULT_PORT
    health_path: str = HEALTH_PATH
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    writable: tuple[str, ...] = ()  # paths a read-only root needs writable (tmpfs), beside /tmp
    routes: tuple[str, ...] = ()  # "PATH" (a GET) or "METHOD PATH" the leak crawl requests besides OpenAPI's
    seeds: tuple[tuple[str, str, str], ...] = ()  # (METHOD, PATH, JSON with ${NAME}s) sent before the crawl


MAX_ROUTES = 200  # the leak crawl's bounds: requests, seconds for all of them, bytes read of each answer
CRAWL_SECONDS = 60
MAX_ANSWER_BYTES = 1 << 20
MAX_SEEDS = 20
DEPENDS_ON_HEALTHY = ("non-root", "reaps-zombies", "app-leaks", "stops-cleanly")


def canary_for(entry: Entry) -> Canary | None:
    """A fresh random value that passes the entry's checks, or None when none of the shapes tried does."""
    canary = generate(entry.name, shapes(entry.pattern, entry.format == "postgresql-url"),
                      lambda value: value_problem(entry, value) is None)
    if canary is not None:
        remember(canary.value)  # smoke's own report masks it, whatever a check quotes of a log
    return canary


class Smoke:
    def __init__(self, runner: DockerRunner, options: SmokeOptions, spec: Spec,
                 on_result: Callable[[CheckResult], None] | None = None) -> None:
        self.runner = runner
        self.on_result = on_result
        self.options = options
        self.required = spec.required_names()  # the image must refuse to start without each
        if not self.required:
            raise ConfigError("smoke: the spec requires no secret, so there is nothing to refuse a start without")
        generated = {entry.name: canary_for(entry) for entry in spec.secrets}
        for name in self.required:
            if generated[name] is None:
                raise ConfigError(f"smoke: cannot generate a value for {name} that its spec pattern accepts; "
                                  "use a spec whose pattern starts with a literal prefix")
        self.generated = {name: canary for name, canary in generated.items() if canary is not None}
        self.without_canary = sorted(set(generated) - set(self.generated))  # the crawl cannot look for these
        self.results: list[CheckResult] = []
        self.with_canary: list[RunningContainer] = []

    @property
    def canaries(self) -> dict[str, str]:
        """Each secret's canary value, by name."""
        return {name: canary.value for name, canary in self.generated.items()}

    def run(self, secrets_dir: str) -> list[CheckResult]:
        self.image_config = self.runner.ensure_image(self.options.image).get("Config") or {}
        self.image_user = self.image_config.get("User")
        self._write_canaries(secrets_dir)
        main = self._start(secrets_dir)
        if self._check_healthy("healthy", main):
            self._check_not_root(main)
            self._check_zombies_reaped(main)
            self._check_app_leaks(main)
            self._check_stop(main)
        else:
            for name in DEPENDS_ON_HEALTHY:
                self._skip(name, "the container never turned healthy (see healthy)")
        self._check_refuses_without_secrets()
        self._check_refuses_keyring(secrets_dir)
        self._check_healthy("hardened", self._start(secrets_dir, **{**HARDENING, "tmpfs": self._hardened_tmpfs()}))
        self._check_volumes()
        self._check_no_canary()
        return self.results

    # --- containers ---
    def _start(self, secrets_dir: str | None = None, environment: dict[str, str] | None = None, publish: bool = True,
               **hardening: Any) -> RunningContainer:
        volumes = {secrets_dir: {"bind": DEFAULT_SECRETS_DIR, "mode": "ro"}} if secrets_dir else {}
        spec = ContainerSpec(self.options.image, environment=environment or {}, volumes=volumes,
                             publish=(self.options.port,) if publish else (), **hardening)
        running = self.runner.start(spec)
        if secrets_dir:
            self.with_canary.append(running)
        return running

    def _write_canaries(self, secrets_dir: str) -> None:
        for name, value in self.canaries.items():  # every secret of the spec: the leak crawl looks for each
            path = os.path.join(secrets_dir, name)
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(value + "\n")
            os.chmod(path, 0o644)  # a generated canary, readable by the image's non-root user

    def _hardened_tmpfs(self) -> dict[str, str]:
        # What every manifest mounts writable beside /tmp (the state and data directories), and --writable.
        paths = (STATE_DIR, DATA_DIR, *self.options.writable)
        options = writable_tmpfs(*numeric_user(self.image_user), size="64m")
        return {**HARDENING["tmpfs"], **dict.fromkeys(paths, options)}

    # --- checks ---
    def _record(self, name: str, ok: bool, detail: str, skipped: bool = False) -> bool:
        for secret, value in self.canaries.items():  # a leaking image's log tail must not spread the canary
            detail = detail.replace(value, f"<{secret} canary>")
        self.results.append(CheckResult(name, ok, detail, skipped))
        if self.on_result:
            self.on_result(self.results[-1])
        return ok

    def _skip(self, name: str, why: str) -> None:
        self._record(name, False, f"skipped: {why}", skipped=True)

    def _check_app_leaks(self, running: RunningContainer) -> bool:
        """Every GET route of the app's OpenAPI document without parameters, and each --route, requested
        with every secret's canary in place: no answer may hold a canary or LEAK_RUN characters of its
        random part (a `key_preview` of a key's first characters past its fixed prefix, a credential in full)."""
        base = f"http://127.0.0.1:{running.host_port(self.options.port)}"
        seeded = [f"{method} {path} -> {seed(base, method, path, document, self.canaries) or 'no answer'}"
                  for method, path, document in self.options.seeds[:MAX_SEEDS]]
        routes, note = openapi_routes(base)
        routes = list(dict.fromkeys([*routes, *(_route(route) for route in self.options.routes)]))[:MAX_ROUTES]
        if not routes:
            self._skip("app-leaks", f"{note}, and no --route given: nothing to request")
            return True
        answers = crawl_routes(base, routes, CRAWL_SECONDS, MAX_ANSWER_BYTES)
        search = LeakSearch(list(self.generated.values()))
        leaks = find_leaks(answers, search)
        unasked = f"; no canary could be made for {', '.join(self.without_canary)}" if self.without_canary else ""
        seeds = f"; seeded first: {', '.join(seeded)}" if seeded else ""
        done = (f"{len(answers)} of {len(routes)} routes answered ({note}{seeds}; chance of an accidental match "
                f"{bound_text(search)} in 10 MB)")
        return self._record("app-leaks", not leaks, ("; ".join(leaks) + f" ({done})") if leaks else
                            f"{done}: no answer holds a secret's canary or a run of one{unasked}")

    def _check_healthy(self, name: str, running: RunningContainer) -> bool:
        what = {"healthy": "started with the required secrets",
                "hardened": "read-only root, all capabilities dropped, no-new-privileges"}[name]
        try:
            seconds = running.wait_healthy(self.options.timeout, self.options.health_path, self.options.port)
        except NotHealthy as exc:
            return self._record(name, False, f"{what}: {exc.reason}; last log lines:\n{_indent(exc.log_tail)}")
        return self._record(name, True, f"{what}: healthy after {seconds:.1f} s, GET {self.options.health_path} -> 200")

    def _check_not_root(self, running: RunningContainer) -> bool:
        code, output = running.exec(["cat", "/proc/1/status"])
        uid = next((line.split()[1] for line in output.splitlines() if line.startswith("Uid:")), None)
        if code != 0 or uid is None:
            return self._record("non-root", False, f"cannot read PID 1's status in the container (exit {code})")
        return self._record("non-root", uid != "0", f"PID 1 runs as uid {uid}")

    def _check_zombies_reaped(self, running: RunningContainer) -> bool:
        code, _ = running.exec(["sh", "-c", ORPHANS])
        if code != 0:
            return self._record("reaps-zombies", False, f"cannot start orphan processes with sh (exit {code})")
        time.sleep(1.5)  # the orphans have exited; only an init reaping them keeps them from staying zombies
        _, output = running.exec(["sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null"])
        zombies = sum(1 for line in output.splitlines() if ")" in line and line.rsplit(")", 1)[1].split()[:1] == ["Z"])
        return self._record("reaps-zombies", zombies == 0,
                            "5 orphaned children were reaped" if zombies == 0 else
                            f"{zombies} zombie process(es) left: PID 1 does not reap (run an init such as tini)")

    def _check_stop(self, running: RunningContainer) -> bool:
        seconds, code = running.stop(timeout=10)
        ok = seconds < STOP_LIMIT_SECONDS and code in CLEAN_EXIT_CODES
        return self._record("stops-cleanly", ok, f"docker stop took {seconds:.1f} s (limit {STOP_LIMIT_SECONDS} s), exit code {code}")

    def _check_refuses_without_secrets(self) -> bool:
        running = self._start(publish=False)
        code = running.wait_exit(min(self.options.timeout, REFUSAL_LIMIT_SECONDS))
        logs = running.logs()
        named = [name for name in self.required if name in logs]
        ok = code == EXIT_CONFIG and len(named) == len(self.required)
        state = f"still running after {REFUSAL_LIMIT_SECONDS} s" if code is None else f"exit code {code}"
        return self._record("refuses-missing-secrets", ok,
                            f"without secrets: {state} (want {EXIT_CONFIG}); the log names "
                            f"{', '.join(named) or 'none'} of {', '.join(self.required)}")

    def _check_refuses_keyring(self, secrets_dir: str) -> bool:
        running = self._start(secrets_dir, environment={SECRETS_BACKEND_VARIABLE: "keyring"}, publish=False)
        code = running.wait_exit(min(self.options.timeout, REFUSAL_LIMIT_SECONDS))
        ok = code == EXIT_CONFIG and SECRETS_BACKEND_VARIABLE in running.logs()
        state = f"still running after {REFUSAL_LIMIT_SECONDS} s" if code is None else f"exit code {code}"
        return self._record("refuses-keyring", ok, f"SECRETS_BACKEND=keyring: {state} (want {EXIT_CONFIG}, naming SECRETS_BACKEND)")

    def _check_volumes(self) -> bool:
        """Every writable path is a declared VOLUME, writable by the image's user when mounted fresh: ECS
        Fargate creates a task volume root-owned 0755 unless the image declares one there (then it takes
        the image's owner and mode, as Docker's fresh volume here does)."""
        declared = sorted(self.image_config.get("Volumes") or {})
        wanted = ["/tmp", STATE_DIR, DATA_DIR, *self.options.writable]
        undeclared = [path for path in wanted if path not in declared]
        running = self._start(publish=False, entrypoint=["sleep", "120"], healthcheck={"test": ["NONE"]})
        # Each write in a subshell: a failed redirection of a special built-in ends the whole shell in
        # dash (POSIX), which would blame every path after it.
        script = 'for d in "$@"; do f="$d/.deeptempo-smoke-$$"; if (: > "$f") 2>/dev/null; then rm -f "$f"; else echo "$d"; fi; done'
        code, output = running.exec(["sh", "-c", script, "sh", *declared])
        unwritable = output.split() if code == 0 else declared
        problems = [f"not writable by the image's user ({self.image_user or 'root'}) when mounted fresh: {', '.join(unwritable)}"
                    ] if unwritable else []
        if undeclared:
            problems.append(f"no VOLUME declared at {', '.join(undeclared)} (on Fargate a task volume there starts "
                            "root-owned 0755): declare them after creating them owned by the service user")
        return self._record("volumes", not problems, "; ".join(problems) or
                            f"{len(declared)} declared volumes, each writable by the image's user when mounted fresh")

    def _check_no_canary(self) -> bool:
        leaks = []
        for running in self.with_canary:
            for where, text in (("logs", running.logs()), ("docker inspect", inspect_json(running))):
                leaked = [name for name, value in self.canaries.items() if value in text]
                leaks += [f"{name} in the {where} of {running.name}" for name in leaked]
        return self._record("no-leak", not leaks, "; ".join(leaks) if leaks else
                            f"no canary value in the logs or docker inspect of {len(self.with_canary)} containers")


def run_smoke(options: SmokeOptions, spec: Spec,
              on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Run every check; `on_result` hears of each result as it is recorded (progress lines)."""
    # A directory the image's non-root user can traverse (mkdtemp makes it 0700).
    secrets_dir = tempfile.mkdtemp(prefix="deeptempo-smoke-")
    try:
        os.chmod(secrets_dir, 0o755)
        with DockerRunner("smoke") as runner:
            return Smoke(runner, options, spec, on_result).run(secrets_dir)
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)


def passed(results: list[CheckResult]) -> bool:
    return all(result.ok or result.skipped for result in results)


def format_results(image: str, results: list[CheckResult]) -> str:
    skipped = sum(r.skipped for r in results)
    lines = [f"smoke {image}: {sum(r.ok for r in results)} of {len(results)} checks passed"
             + (f", {skipped} skipped" if skipped else "")]
    for result in results:
        state = "SKIP" if result.skipped else "PASS" if result.ok else "FAIL"
        lines.append(f"  {state}  {result.name:<24} {result.detail}")
    return "\n".join(lines)


def results_document(image: str, results: list[CheckResult]) -> dict[str, object]:
    return {"image": image, "ok": passed(results), "checks": [asdict(r) for r in results]}


def _route(text: str) -> tuple[str, str]:
    """ "PATH" or "METHOD PATH" as (METHOD, PATH)."""
    method, _, path = text.strip().rpartition(" ")
    return (method.upper() or "GET"), path


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines()) or "      (no output)"
