"""serve as a supervisor: it holds the listening socket and runs the app in processes of its own, so
that it can replace them without a request failing.

serve supervises when the app needs more than this process can give it: more than one worker
(WEB_CONCURRENCY), or a secret whose new value reaches the app only through a restart (the spec's
`rotation: restart`, for a secret delivered as a file). Each app process is started through
multiprocessing's spawn start method with its plan (deeptempo_entrypoint.app_process): the secrets travel
in the pipe multiprocessing reads a new process's arguments from, nothing the app's children inherit.

A restart (a changed secret, or SIGHUP) replaces every app process, in order:
1. the new processes start with the new secrets and run the app's start-up, without serving;
2. when all of them are ready, the old ones stop: they finish the requests they hold and exit;
3. then the new ones serve. Connections that arrive meanwhile wait in the socket's backlog.
So no request fails, and two instances never serve at once. A new instance that fails to start is
stopped and the old one keeps serving, its failure logged. Changes within RESTART_QUIET_SECONDS of each
other are one restart. PID 1 and the container stay; SIGTERM or SIGINT stop everything, and serve then
ends by the same signal, as uvicorn does."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from socket import socket
from types import FrameType

import uvicorn

from deeptempo_entrypoint.app_process import STARTUP_FAILURE, AppPlan, spawned
from deeptempo_entrypoint.rotation import INTERVAL, file_signature
from deeptempo_entrypoint.served_address import write_served_address

RESTART_QUIET_SECONDS = 1.0  # changes this close together are one restart
DRAIN_SECONDS = 0.5  # between an old instance's last accept and its SIGTERM: its accepted requests arrive
START_SECONDS = 600.0  # a new instance that is not ready by then is abandoned (the backend takes 11-40 s)
STOP_SECONDS = 30.0  # an old instance still running this long after SIGTERM is killed
_log = logging.getLogger("deeptempo_entrypoint.supervisor")


@dataclass
class AppProcess:
    process: BaseProcess
    gate: Connection
    ready: bool = False


@dataclass
class Generation:
    """The app processes started from one plan."""

    plan: AppPlan
    processes: list[AppProcess] = field(default_factory=list)

    @property
    def pids(self) -> list[int | None]:
        return [app.process.pid for app in self.processes]


class RestartWatch:
    """The files of the secrets a restart takes: a change is reported once they have held still for
    RESTART_QUIET_SECONDS."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)
        self.signatures = {name: file_signature(path) for name, path in self.files.items()}
        self.changed: set[str] = set()
        self.last_change = 0.0

    def poll(self) -> set[str]:
        now = time.monotonic()
        for name, path in self.files.items():
            signature = file_signature(path)
            if signature != self.signatures[name]:
                self.signatures[name] = signature
                self.changed.add(name)
                self.last_change = now
        if self.changed and now - self.last_change >= RESTART_QUIET_SECONDS:
            changed, self.changed = self.changed, set()
            return changed
        return set()


class Supervisor:
    """Runs `plan` in `workers` app processes on one socket; `replan(changed)` gives the plan a restart
    takes (None: keep the running one; it logs why)."""

    def __init__(self, plan: AppPlan, workers: int, restart_files: Mapping[str, str],
                 replan: Callable[[set[str]], AppPlan | None]) -> None:
        self.plan = plan
        self.workers = workers
        self.watch = RestartWatch(restart_files)
        self.replan = replan
        self.context = multiprocessing.get_context("spawn")
        self.stop_signal: int | None = None
        self.restart_asked = False
        self.restarts = 0
        self.socket: socket | None = None  # bound in run(), shared by every app process

    def run(self) -> int:
        config = uvicorn.Config(self.plan.app, **self.plan.config)
        self.socket = config.bind_socket()
        write_served_address(*self.plan.address)
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._asked_to_stop)
        signal.signal(signal.SIGHUP, self._asked_to_restart)
        generation = self.start(self.plan, self.workers)
        code = self.wait_ready(generation)
        if code is not None:
            self.stop(generation)
            return code
        self.open(generation)
        return self.supervise(generation)

    def supervise(self, generation: Generation) -> int:
        while self.stop_signal is None:
            wait([app.process.sentinel for app in generation.processes], timeout=INTERVAL / 2)
            self.replace_dead(generation)
            changed = self.watch.poll()
            if self.restart_asked or changed:
                self.restart_asked = False
                generation = self.restart(generation, changed)
        self.stop(generation)
        signal.signal(self.stop_signal, signal.SIG_DFL)
        os.kill(os.getpid(), self.stop_signal)  # end as uvicorn does: by the signal (tini -e 143 makes it 0)
        return 128 + self.stop_signal

    def start(self, plan: AppPlan, count: int) -> Generation:
        generation = Generation(plan)
        for _ in range(count):
            ours, theirs = self.context.Pipe()
            process = self.context.Process(target=spawned, args=(plan, [self.socket] if self.socket else None, theirs),
                                           name="deeptempo-app")
            process.start()
            theirs.close()
            generation.processes.append(AppProcess(process, ours))
        return generation

    def wait_ready(self, generation: Generation, seconds: float = START_SECONDS) -> int | None:
        """None when every process of the generation said it is ready; else the exit code of the first
        that ended (STARTUP_FAILURE when one took too long, or serve was asked to stop meanwhile)."""
        deadline = time.monotonic() + seconds
        while not all(app.ready for app in generation.processes):
            if self.stop_signal is not None or time.monotonic() > deadline:
                return STARTUP_FAILURE
            waiting = [app for app in generation.processes if not app.ready]
            wait([handle for app in waiting for handle in (app.gate, app.process.sentinel)], timeout=INTERVAL / 2)
            for app in waiting:
                if app.gate.poll():
                    try:
                        app.ready = app.gate.recv() == "ready"
                    except EOFError:
                        pass
                if not app.ready and not app.process.is_alive():
                    return app.process.exitcode if app.process.exitcode and app.process.exitcode > 0 else STARTUP_FAILURE
        return None

    def open(self, generation: Generation) -> None:
        for app in generation.processes:
            app.gate.send("serve")

    def drain(self, generation: Generation) -> None:
        """The old instance stops accepting, and has DRAIN_SECONDS for the connections it accepted to
        bring their requests: uvicorn's graceful stop answers every request it holds, but closes a
        connection whose request has not arrived yet."""
        for app in generation.processes:
            try:
                app.gate.send("drain")
            except OSError:
                pass
        time.sleep(DRAIN_SECONDS)

    def stop(self, generation: Generation) -> None:
        """SIGTERM to each process (uvicorn finishes the requests it holds, then exits); SIGKILL to one
        still running STOP_SECONDS later."""
        for app in generation.processes:
            app.gate.close()  # an instance still held at its gate gives up at once
            if app.process.is_alive():
                app.process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for app in generation.processes:
            app.process.join(max(0.0, deadline - time.monotonic()))
            if app.process.is_alive():
                _log.warning("app process %s did not stop within %.0f s of SIGTERM: killed", app.process.pid, STOP_SECONDS)
                app.process.kill()
                app.process.join()

    def restart(self, old: Generation, changed: set[str]) -> Generation:
        reason = ", ".join(sorted(changed)) if changed else "SIGHUP"
        plan = self.replan(changed) if changed else old.plan
        if plan is None:
            return old  # replan logged why: the new values are not taken
        _log.info("restarting the app for %s: starting a new instance", reason)
        new = self.start(plan, len(old.processes))
        code = self.wait_ready(new)
        if code is not None:
            self.stop(new)
            _log.error("restarting the app for %s: the new instance did not start (exit %s); the running one keeps "
                       "serving", reason, code)
            return old
        self.drain(old)
        self.stop(old)
        self.open(new)
        self.restarts += 1
        _log.info("restarted the app for %s: processes %s serve", reason, new.pids)
        return new

    def replace_dead(self, generation: Generation) -> None:
        """An app process that ended by itself (a crash) is replaced, alone: there is nothing to drain."""
        for index, app in enumerate(generation.processes):
            if app.process.is_alive() or self.stop_signal is not None:
                continue
            _log.warning("app process %s ended (exit %s): starting another", app.process.pid, app.process.exitcode)
            app.gate.close()
            replacement = self.start(generation.plan, 1)
            if self.wait_ready(replacement) is None:
                self.open(replacement)
            generation.processes[index] = replacement.processes[0]

    def _asked_to_stop(self, number: int, frame: FrameType | None) -> None:
        self.stop_signal = number

    def _asked_to_restart(self, number: int, frame: FrameType | None) -> None:
        self.restart_asked = True
