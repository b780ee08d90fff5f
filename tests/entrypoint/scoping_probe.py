"""Run as a script: installs a scope over canary secrets, then starts children every way Python can and
prints, as JSON, what each child received (or the error its start raised). tests/entrypoint/test_scoping.py
reads it; a script of its own, because an audit hook cannot be removed from the process that installs it."""

import asyncio
import json
import logging
import multiprocessing
import os
import subprocess
import sys

from deeptempo_entrypoint.scoping import Scope, install

CLAUDE, GITHUB, SPLUNK, SHARED = sys.argv[1:5]
DUMP = "import os; print('\\n'.join(f'{k}={v}' for k, v in os.environ.items()))"


def environ_of_this_process():
    with open("/proc/self/environ", "rb") as stream:
        return stream.read().decode(errors="replace")


def run(argv, **options):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False, **options).stdout
    except PermissionError as exc:
        return f"refused: {exc}"


async def asyncio_child():
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", DUMP, stdout=asyncio.subprocess.PIPE)
    return (await process.communicate())[0].decode()


def main():
    logging.basicConfig(level=logging.WARNING, format="LOG %(message)s", stream=sys.stderr)
    os.environ.update({"CLAUDE_API_KEY": CLAUDE, "SPLUNK_PASSWORD": SPLUNK, "SHARED_SECRET": SHARED})
    scope = Scope(frozenset({"CLAUDE_API_KEY", "claude_api_key", "GITHUB_TOKEN", "SPLUNK_PASSWORD"}),
                  {"printenv": frozenset({"SPLUNK_PASSWORD"})},
                  {"CLAUDE_API_KEY": CLAUDE, "SPLUNK_PASSWORD": SPLUNK})
    install(scope)
    seen = {"reads": os.environ.get("CLAUDE_API_KEY")}
    seen["inherited"] = run([sys.executable, "-c", DUMP])
    os.environ["GITHUB_TOKEN"] = GITHUB  # the DeepTempo backend's main.py does this at start
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as pool:  # multiprocessing's spawn start raises no audit event
        seen["spawn"] = pool.apply(environ_of_this_process)
    os.environ["GITHUB_TOKEN"] = GITHUB + "x"  # and a write of a new value, then forkserver's start
    with multiprocessing.get_context("forkserver").Pool(1) as pool:
        seen["forkserver"] = pool.apply(environ_of_this_process)
    seen["after_write"] = run([sys.executable, "-c", DUMP])
    seen["copy"] = run([sys.executable, "-c", DUMP], env=os.environ.copy())  # the backend's findings server
    seen["by_value"] = run([sys.executable, "-c", DUMP], env={"PATH": os.environ["PATH"], "AUTH": f"Bearer {CLAUDE}"})
    seen["allowed_copy"] = run(["printenv"], env=dict(os.environ))
    seen["allowed_inherited"] = run(["printenv"])
    seen["environ_itself"] = run(["printenv"], env=os.environ)
    seen["shell"] = run(f"{sys.executable} -c \"{DUMP}\"", shell=True)
    seen["asyncio"] = asyncio.run(asyncio_child())
    read, write = os.pipe()
    os.set_inheritable(write, True)
    status = os.system(f"env >&{write}")
    os.close(write)
    with os.fdopen(read) as stream:
        seen["os_system"] = stream.read() if status == 0 else f"status {status}"
    try:
        os.posix_spawn("/usr/bin/env", ["env"], {"CLAUDE_API_KEY": CLAUDE})
        seen["posix_spawn"] = "started"
    except PermissionError as exc:
        seen["posix_spawn"] = f"refused: {exc}"
    pid = os.fork()
    if pid == 0:
        try:
            os.execve("/usr/bin/env", ["env"], {"SPLUNK_PASSWORD": SPLUNK})
        except PermissionError:
            os._exit(42)
    seen["execve_status"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    run(["true", f"--password={SPLUNK}"])  # reported: a secret on a command line
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
