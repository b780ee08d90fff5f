"""Every deployment path's cost, as ratios against baselines measured in the same run (medians over
interleaved rounds, so a busy machine slows both sides alike). Prints a table; never fails a build.

    python benchmarks/run.py [--rounds N] [--image IMAGE] [--base BASE_IMAGE] [--backend-image IMAGE] [--only SECTION ...]

Sections: startup, specs, verify, probe, rotation, handover, restart (no Docker needed); container, memory, size,
platforms, database (need an engine and --image, the kit's image; database also --postgres-image, default
postgres:15-bookworm), backend (--backend-image, the DeepTempo backend's image the tests built). A section that cannot
run says why in its row."""

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
PYTHON = sys.executable
BIN = os.path.dirname(PYTHON)
ENTRYPOINT = shutil.which("deeptempo-entrypoint", path=BIN) or "deeptempo-entrypoint"
DEPLOY = shutil.which("deeptempo-deploy", path=BIN) or "deeptempo-deploy"
CANARY = "sk-ant-benchmark0123456789"
ROWS = []


def row(figure, value, baseline="", ratio=None, target=""):
    ROWS.append((figure, value, baseline, "" if ratio is None else f"{ratio:.2f}", target))


def timed(command, env=None, cwd=None):
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def interleaved(commands, rounds, env=None):
    """{name: median seconds}: each round runs every command once, in turn."""
    samples = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            samples[name].append(timed(command, env=env))
    return {name: statistics.median(values) for name, values in samples.items()}


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- no Docker --------------------------------------------------------------------------------------

def bench_startup(args):
    environment = {**os.environ, "CLAUDE_API_KEY": CANARY}
    medians = interleaved({"pass": [PYTHON, "-c", "pass"], "click": [PYTHON, "-c", "import click"],
                           "check": [ENTRYPOINT, "check"]}, args.rounds, environment)
    row("`python -c 'import click'` / `python -c pass`", ms(medians["click"]), ms(medians["pass"]), medians["click"] / medians["pass"])
    row("`deeptempo-entrypoint check` / `python -c pass`", ms(medians["check"]), ms(medians["pass"]), medians["check"] / medians["pass"])
    row("`check` / `import click` (the floor of any click program)", ms(medians["check"]), ms(medians["click"]),
        medians["check"] / medians["click"], "<= 1.05")


def write_spec(path, count):
    lines = ["version: 1", "entries:",
             "  - {name: CLAUDE_API_KEY, kind: secret, service: C, description: d., rule: required, pattern: 'sk-ant-[A-Za-z0-9_-]+'}"]
    lines += [f"  - {{name: SECRET_{i}, kind: secret, service: S, description: d., rule: optional}}" for i in range(count - 1)]
    with open(path, "w") as stream:
        stream.write("\n".join(lines) + "\n")


def bench_specs(args):
    with tempfile.TemporaryDirectory() as scratch:
        specs = {}
        for count in (10, 100, 1000):
            specs[count] = os.path.join(scratch, f"spec{count}.yaml")
            write_spec(specs[count], count)
        cached = {**os.environ, "CLAUDE_API_KEY": CANARY, "XDG_CACHE_HOME": os.path.join(scratch, "cache")}
        commands = {"builtin": [ENTRYPOINT, "check"], **{count: [ENTRYPOINT, "check", "--spec", path] for count, path in specs.items()}}
        for command in commands.values():
            timed(command, env=cached)  # fill the cache
        warm = interleaved(commands, args.rounds, cached)
        # Where no cache can be written (a read-only container): every start checks in full.
        cold = {**cached, "XDG_CACHE_HOME": "/proc/deeptempo-benchmark-no-cache"}
        full = interleaved({count: [ENTRYPOINT, "check", "--spec", path] for count, path in specs.items()}, max(3, args.rounds // 3), cold)
    row("`check --spec` 1000 secrets / 10 secrets (cached)", ms(warm[1000]), ms(warm[10]), warm[1000] / warm[10], "<= 1.5")
    row("`check --spec` 100 secrets / 10 secrets (cached)", ms(warm[100]), ms(warm[10]), warm[100] / warm[10])
    row("`check --spec` 10 secrets (cached) / built-in spec", ms(warm[10]), ms(warm["builtin"]), warm[10] / warm["builtin"])
    row("`check --spec` 1000 / 10 secrets, no cache writable", ms(full[1000]), ms(full[10]), full[1000] / full[10], "<= 1.5")
    row("`check --spec` 10 secrets, no cache / built-in spec", ms(full[10]), ms(warm["builtin"]), full[10] / warm["builtin"])
    row("`check --spec` 10 secrets compiled in the image (compile-spec) / built-in", ms(warm[10]), ms(warm["builtin"]),
        warm[10] / warm["builtin"], "<= 1.3")


def bench_verify(args):
    baseline = interleaved({"pass": [PYTHON, "-c", "pass"]}, 5)["pass"]
    if not shutil.which("kubectl", path=BIN) and not shutil.which("kubectl"):
        row("`verify k8s` production overlay, 1.30-1.37", "skipped: no kubectl (the deploy extra)")
    else:
        k8s = statistics.median(timed([DEPLOY, "verify", "k8s", os.path.join(PROJECT, "k8s", "overlays", "production")])
                                for _ in range(3))
        row("`verify k8s` production overlay (8 versions) / `python -c pass`", f"{k8s:.2f} s", ms(baseline), k8s / baseline)
    ecs = statistics.median(timed([DEPLOY, "verify", "ecs", os.path.join(PROJECT, "ecs", "task-definition.json"), "--policy",
                                   os.path.join(PROJECT, "ecs", "execution-role-policy.json")]) for _ in range(3))
    row("`verify ecs` with its policy / `python -c pass`", f"{ecs:.2f} s", ms(baseline), ecs / baseline)


def cpu_per_call(command, calls):
    """User + system seconds a command's process takes, per call (the kernel's accounting of children)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(calls):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / calls


def bench_probe(args):
    """The health probe's CPU per call against a served health path, over `python -c pass`."""
    port = free_port()
    server = subprocess.Popen([ENTRYPOINT, "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env={**os.environ, "CLAUDE_API_KEY": CANARY}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_200(port)
        probe = [os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint", "deeptempo-probe"), f"http://127.0.0.1:{port}/api/health"]
        calls = max(20, args.rounds * 2)
        probes, passes = [], []
        for _ in range(3):
            probes.append(cpu_per_call(probe, calls))
            passes.append(cpu_per_call([PYTHON, "-c", "pass"], calls))
        per_probe, per_pass = statistics.median(probes), statistics.median(passes)
        row("health probe's CPU per call / `python -c pass`", f"{per_probe * 1000:.1f} ms", f"{per_pass * 1000:.1f} ms",
            per_probe / per_pass, "<= 0.1")
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_rotation(args):
    """In this process: get_secret of a followed file when nothing changed, over a dict lookup; and the
    time from a kubelet-style `..data` swap to get_secret returning the new value."""
    import timeit

    sys.path.insert(0, PROJECT)
    from deeptempo_deploy.platforms.k8s.local import SecretVolume
    from deeptempo_entrypoint import rotation, secrets_manager
    from deeptempo_entrypoint.spec import builtin_spec

    volume = SecretVolume({"CLAUDE_API_KEY": CANARY}, 0o400, None)
    saved = os.environ.get("CLAUDE_API_KEY")
    try:
        os.environ["CLAUDE_API_KEY"] = CANARY
        rotation.start_following({"CLAUDE_API_KEY": os.path.join(volume.directory, "CLAUDE_API_KEY")}, builtin_spec())
        plain = {"CLAUDE_API_KEY": CANARY}
        number = 100_000
        lookups, reads = [], []
        for _ in range(max(5, args.rounds // 2)):
            lookups.append(timeit.timeit(lambda: plain["CLAUDE_API_KEY"], number=number) / number)
            reads.append(timeit.timeit(lambda: secrets_manager.get_secret("CLAUDE_API_KEY"), number=number) / number)
        lookup, read = statistics.median(lookups), statistics.median(reads)
        row("`get_secret` of a followed file, unchanged / a dict lookup (same lambda call)", f"{read * 1e9:.0f} ns",
            f"{lookup * 1e9:.0f} ns", read / lookup, "<= 20")
        latencies = []
        for turn in range(max(5, args.rounds // 2)):
            key = f"sk-ant-benchmarkrotated{turn:04d}"
            time.sleep(0.137 * (turn % 7))  # swaps at every phase of the check interval
            volume.update({"CLAUDE_API_KEY": key})
            swapped = time.perf_counter()
            while secrets_manager.get_secret("CLAUDE_API_KEY") != key:
                time.sleep(0.0005)
            latencies.append(time.perf_counter() - swapped)
        limit = rotation.INTERVAL + 0.010
        row("`..data` swap to the new value from `get_secret`, worst / check interval + 10 ms", ms(max(latencies)),
            ms(limit), max(latencies) / limit, "<= 1.0")
        row("`..data` swap to the new value, median", ms(statistics.median(latencies)), ms(rotation.INTERVAL))
    finally:
        rotation.stop_following()
        volume.remove()
        if saved is None:
            os.environ.pop("CLAUDE_API_KEY", None)
        else:
            os.environ["CLAUDE_API_KEY"] = saved


def first_200(command, port, env, timeout=60):
    """Seconds from starting `command` to the first 200 on its health path; the process is stopped."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + timeout
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
        raise RuntimeError(f"{command[0]}: no 200 within {timeout} s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def dotenvx():
    """dotenvx (an npm package), installed into a scratch prefix; None where npm is missing."""
    if not shutil.which("npm"):
        return None
    prefix = tempfile.mkdtemp(prefix="deeptempo-dotenvx-")
    result = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", prefix, "@dotenvx/dotenvx@1"],
                            capture_output=True, text=True)
    binary = os.path.join(prefix, "node_modules", ".bin", "dotenvx")
    return binary if result.returncode == 0 and os.path.exists(binary) else None


def bench_handover(args):
    """The built-in app's time to the first 200: serve, against bare uvicorn and the wrappers a user would
    pick instead of the kit (python-dotenv's `dotenv run`, dotenvx's `run`), each reading the same env-file."""
    with tempfile.TemporaryDirectory() as scratch:
        env_file = os.path.join(scratch, "app.env")
        with open(env_file, "w") as stream:
            stream.write(f"CLAUDE_API_KEY={CANARY}\n")
        os.chmod(env_file, 0o600)
        uvicorn = [PYTHON, "-m", "uvicorn", "deeptempo_entrypoint.app:app", "--host", "127.0.0.1", "--port", "{port}"]
        commands = {"bare": uvicorn, "kit": [ENTRYPOINT, "serve", "--env-file", env_file, "--host", "127.0.0.1", "--port", "{port}"]}
        dotenv = shutil.which("dotenv", path=BIN)
        if dotenv:
            commands["dotenv"] = [dotenv, "-f", env_file, "run", "--", *uvicorn]
        dotenvx_binary = dotenvx()
        if dotenvx_binary:
            commands["dotenvx"] = [dotenvx_binary, "run", "-f", env_file, "--quiet", "--", *uvicorn]
        samples = {name: [] for name in commands}
        for _ in range(max(5, args.rounds // 2)):
            for name, command in commands.items():
                port = free_port()
                samples[name].append(first_200([part.replace("{port}", str(port)) for part in command], port, dict(os.environ)))
        if dotenvx_binary:
            shutil.rmtree(os.path.dirname(os.path.dirname(os.path.dirname(dotenvx_binary))), ignore_errors=True)
    median = {name: statistics.median(values) for name, values in samples.items()}
    for name, label in (("kit", "`deeptempo-entrypoint serve --env-file`"), ("dotenv", "python-dotenv's `dotenv run`"),
                        ("dotenvx", "dotenvx's `run`")):
        if name in median:
            row(f"built-in app, first 200: {label} / bare uvicorn", ms(median[name]), ms(median["bare"]), median[name] / median["bare"],
                "<= 1.05" if name == "kit" else "")
        else:
            row(f"built-in app, first 200: {label}", "skipped: not installed (npm)")


def bench_restart(args):
    """A secret whose rotation is `restart` (GITHUB_TOKEN), swapped in its secrets directory: the time
    until the new app instance serves, and the requests a client making them without pause saw fail."""
    import threading

    with tempfile.TemporaryDirectory() as scratch:
        secrets = os.path.join(scratch, "secrets")
        os.mkdir(secrets, 0o700)
        for name, value in (("CLAUDE_API_KEY", CANARY), ("GITHUB_TOKEN", "ghp_benchmark0000000000000000")):
            with open(os.path.join(secrets, name), "w") as stream:
                stream.write(value)
        port = free_port()
        server = subprocess.Popen([ENTRYPOINT, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                  env={**os.environ, "DEEPTEMPO_SECRETS_DIR": secrets}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        counts, stop = {"ok": 0, "failed": 0}, threading.Event()

        def client():
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as answer:
                        counts["ok" if answer.status == 200 else "failed"] += 1
                except OSError:
                    counts["failed"] += 1

        try:
            wait_200(port)
            instance = serving_instance(port)
            worker = threading.Thread(target=client, daemon=True)
            worker.start()
            latencies = []
            for turn in range(args.rotation_rounds):
                path = os.path.join(secrets, "GITHUB_TOKEN")
                with open(path + ".new", "w") as stream:
                    stream.write(f"ghp_benchmarkrotated{turn:08d}0000")
                os.replace(path + ".new", path)
                swapped = time.perf_counter()
                while serving_instance(port) == instance:
                    time.sleep(0.01)
                latencies.append(time.perf_counter() - swapped)
                instance = serving_instance(port)
            stop.set()
            worker.join(timeout=15)
        finally:
            server.terminate()
            server.wait(timeout=60)
    row(f"restart-policy secret swapped to a new instance serving, worst of {len(latencies)}", ms(max(latencies)),
        ms(statistics.median(latencies)) + " median")
    row("requests failed while it restarted (a client without pause)", str(counts["failed"]), f"{counts['ok']} answered", None,
        "0")


def serving_instance(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/secrets/status", timeout=10) as answer:
        return json.loads(answer.read())["instance"]


# --- Docker -----------------------------------------------------------------------------------------

def docker(*args, check=True):
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(result.stderr.strip()[-300:])
    return result.stdout.strip()


def wait_200(port, timeout=60):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("no 200 in time")


BARE_UVICORN = ["--entrypoint", "/opt/venv/bin/python"]
BARE_COMMAND = ["-m", "uvicorn", "deeptempo_entrypoint.app:app", "--host", "0.0.0.0", "--port", "6987"]


def run_to_200(image, bare=False):
    """Seconds from `docker run` to the first 200 on the health path; the container is removed after."""
    port = free_port()
    started = time.perf_counter()
    name = f"deeptempo-benchmark-{port}"
    docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:6987", "-e", f"CLAUDE_API_KEY={CANARY}",
           *(BARE_UVICORN if bare else []), image, *(BARE_COMMAND if bare else []))
    try:
        wait_200(port)
        return time.perf_counter() - started, name
    except Exception:
        docker("rm", "-f", "-v", name, check=False)
        raise


def bench_container(args):
    kit, bare = [], []
    for _ in range(args.container_rounds):
        for bucket, is_bare in ((kit, False), (bare, True)):
            seconds, name = run_to_200(args.image, is_bare)
            docker("rm", "-f", "-v", name, check=False)
            bucket.append(seconds)
    k, b = statistics.median(kit), statistics.median(bare)
    row("`docker run` to first 200 / same image, bare uvicorn", ms(k), ms(b), k / b, "<= 1.05")


def memory_of(name):
    usage = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name).split("/")[0].strip()
    number = float("".join(ch for ch in usage if ch.isdigit() or ch == "."))
    return number * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}.get(usage.lstrip("0123456789."), 1)


def bench_memory(args):
    values = {}
    for is_bare in (False, True):
        _, name = run_to_200(args.image, is_bare)
        try:
            time.sleep(2)  # idle
            values[is_bare] = memory_of(name)
        finally:
            docker("rm", "-f", "-v", name, check=False)
    row("idle memory of the container / bare uvicorn", f"{values[False]:.1f} MiB", f"{values[True]:.1f} MiB",
        values[False] / values[True])


def bench_size(args):
    size = int(docker("image", "inspect", "-f", "{{.Size}}", args.image))
    if not args.base:
        row("image size over its base", f"{size / 1e6:.1f} MB", "skipped: no --base")
        return
    base = int(docker("image", "inspect", "-f", "{{.Size}}", args.base))
    row("image size added to its base", f"{(size - base) / 1e6:.1f} MB", f"{base / 1e6:.1f} MB", size / base, "<= 25 MB added")


DATABASE_PASSWORD = "Benchmark-database-passw0rd"  # a stand-in password of a throwaway database


def bench_platforms(args):
    reference = statistics.median(_run_and_remove(args.image) for _ in range(3))
    with tempfile.TemporaryDirectory() as scratch:
        env_file = os.path.join(scratch, "app.env")
        with open(env_file, "w") as stream:
            # The production overlay's POSTGRES_HOST requires the password (no database answers: the built-in
            # app never connects to one).
            stream.write(f"CLAUDE_API_KEY={CANARY}\nPOSTGRES_PASSWORD={DATABASE_PASSWORD}\n")
        os.chmod(env_file, 0o600)
        compose = []
        for index in range(3):
            project = f"deeptempo-benchmark-{os.getpid()}-{index}"
            environment = {**os.environ, "DEEPTEMPO_IMAGE": args.image, "DEEPTEMPO_PORT": str(free_port()),
                           "DEEPTEMPO_COMPOSE_ENV_FILE": env_file}
            base = ["docker", "compose", "-p", project, "--project-directory", PROJECT, "-f", os.path.join(PROJECT, "docker-compose.yml")]
            compose.append(timed([*base, "up", "-d", "--wait", "--no-build"], env=environment))
            subprocess.run([*base, "down", "-v"], env=environment, capture_output=True)
        c = statistics.median(compose)
        row("`docker compose up --wait` to healthy / `docker run` to first 200", f"{c:.2f} s", f"{reference:.2f} s", c / reference)
        tree = os.path.join(scratch, "k8s")
        shutil.copytree(os.path.join(PROJECT, "k8s"), tree)
        with open(os.path.join(tree, "overlays", "production", "database.env"), "w") as stream:
            stream.write("POSTGRES_HOST=postgres.benchmark.internal\n")  # gitignored in a checkout: a user writes it
        k8s = statistics.median(timed([DEPLOY, "local", "k8s", os.path.join(tree, "overlays", "production"), "--env-file", env_file,
                                       "--image", args.image]) for _ in range(3))
        row("`deeptempo-deploy local k8s` to ready / `docker run` to first 200", f"{k8s:.2f} s", f"{reference:.2f} s", k8s / reference)
        subprocess.run([DEPLOY, "render", "ecs", "--only", "CLAUDE_API_KEY", "--output-dir", scratch], capture_output=True)
        mapping = os.path.join(scratch, "secrets.json")
        with open(mapping, "w") as stream:
            json.dump({"CLAUDE_API_KEY": CANARY, "POSTGRES_PASSWORD": DATABASE_PASSWORD}, stream)
        ecs = statistics.median(timed([DEPLOY, "local", "ecs", os.path.join(scratch, "ecs", "task-definition.json"), "--secrets",
                                       mapping, "--image", args.image]) for _ in range(3))
        row("`deeptempo-deploy local ecs` to healthy / `docker run` to first 200", f"{ecs:.2f} s", f"{reference:.2f} s", ecs / reference)


BACKEND_BARE = ["--entrypoint", "/opt/venv/bin/python"]
BACKEND_BARE_COMMAND = ["-m", "uvicorn", "main:app", "--app-dir", "/srv/deeptempo/backend", "--host", "0.0.0.0", "--port", "6987"]


def bench_backend(args):
    """The DeepTempo backend's image (built by the tests with the README's recipe): its start through serve
    against bare uvicorn in the same image (the kit's hand-over, in ms: the backend's own start varies by
    seconds), and the recipe's build time and image size as the tests' build recorded them."""
    if not args.backend_image:
        row("[backend]", "skipped: no --backend-image")
        return
    kit, bare = [], []
    for _ in range(args.backend_rounds):
        for bucket, command in ((kit, []), (bare, BACKEND_BARE)):
            port = free_port()
            name = f"deeptempo-benchmark-backend-{port}"
            started = time.perf_counter()
            docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:6987", "-e", f"CLAUDE_API_KEY={CANARY}",
                   "-e", "DATA_BACKEND=json", *command, args.backend_image, *(BACKEND_BARE_COMMAND if command else []))
            try:
                wait_200(port, timeout=300)
                bucket.append(time.perf_counter() - started)
            finally:
                docker("rm", "-f", "-v", name, check=False)
    k, b = statistics.median(kit), statistics.median(bare)
    row("the backend's start to first 200: serve - bare uvicorn (the kit's hand-over)", f"{(k - b) * 1000:+.0f} ms",
        f"{b:.1f} s bare", k / b)
    record = os.environ.get("DEEPTEMPO_BUILD_RECORD")
    if record and os.path.exists(record):
        with open(record) as stream:
            built = json.load(stream).get("backend")
        if built:
            row("the backend recipe's build (its constraints, no layer cache)", f"{built['seconds']:.0f} s")
    size = int(docker("image", "inspect", "-f", "{{.Size}}", args.backend_image))
    kit_size = int(docker("image", "inspect", "-f", "{{.Size}}", args.image)) if args.image else 0
    row("the backend's image size / the kit's image", f"{size / 1e9:.2f} GB", f"{kit_size / 1e6:.0f} MB" if kit_size else "",
        size / kit_size if kit_size else None)


def bench_database(args):
    """The database variant's `up --wait` with a fresh volume to healthy, over its database's own ready
    time: the same `up --wait` of the postgres service alone, fresh volume too (initdb included)."""
    with tempfile.TemporaryDirectory() as scratch:
        secrets = os.path.join(scratch, "secrets")
        os.mkdir(secrets, 0o755)
        password = os.path.join(secrets, "postgres_password")
        with open(password, "w") as stream:
            stream.write(DATABASE_PASSWORD)
        if os.geteuid() == 0:  # the README's arrangement: root:10001, 0440
            os.chown(password, 0, 10001)
            os.chmod(password, 0o440)
        else:
            os.chmod(password, 0o444)
        env_file = os.path.join(scratch, "app.env")
        with open(env_file, "w") as stream:
            stream.write(f"CLAUDE_API_KEY={CANARY}\n")
        os.chmod(env_file, 0o644)
        files = ["-f", os.path.join(PROJECT, "docker-compose.yml"), "-f", os.path.join(PROJECT, "docker-compose.database.yml")]
        both, alone = [], []
        for index in range(args.container_rounds):
            for bucket, services in ((both, []), (alone, ["postgres"])):
                project = f"deeptempo-benchmark-db-{os.getpid()}-{index}-{len(services)}"
                environment = {**os.environ, "DEEPTEMPO_IMAGE": args.image, "DEEPTEMPO_POSTGRES_IMAGE": args.postgres_image,
                               "DEEPTEMPO_PORT": str(free_port()), "DEEPTEMPO_COMPOSE_ENV_FILE": env_file,
                               "DEEPTEMPO_SECRETS_HOST_DIR": secrets}
                base = ["docker", "compose", "-p", project, "--project-directory", PROJECT, *files]
                try:
                    bucket.append(timed([*base, "up", "-d", "--wait", "--no-build", *services], env=environment))
                finally:
                    subprocess.run([*base, "down", "-v"], env=environment, capture_output=True)
    b, a = statistics.median(both), statistics.median(alone)
    row("`compose up --wait` with the database (fresh volume) / its database alone", f"{b:.2f} s", f"{a:.2f} s", b / a)


def _run_and_remove(image):
    seconds, name = run_to_200(image)
    docker("rm", "-f", "-v", name, check=False)
    return seconds


SECTIONS = {"startup": bench_startup, "specs": bench_specs, "verify": bench_verify, "probe": bench_probe, "rotation": bench_rotation,
            "handover": bench_handover, "restart": bench_restart, "container": bench_container,
            "memory": bench_memory, "size": bench_size, "platforms": bench_platforms, "database": bench_database,
            "backend": bench_backend}
NEEDS_DOCKER = {"container", "memory", "size", "platforms", "database", "backend"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--container-rounds", type=int, default=5)
    parser.add_argument("--rotation-rounds", type=int, default=20)
    parser.add_argument("--backend-rounds", type=int, default=3)
    parser.add_argument("--backend-image", default=None, help="the DeepTempo backend's image the tests built (the backend section)")
    parser.add_argument("--image", default=None, help="the kit's image (for the Docker sections)")
    parser.add_argument("--base", default=None, help="the image it was built FROM (for the size figure)")
    parser.add_argument("--postgres-image", default="postgres:15-bookworm",
                        help="the database variant's PostgreSQL (a local stand-in where no registry answers)")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), default=sorted(SECTIONS, key=list(SECTIONS).index))
    args = parser.parse_args()
    # As an installed package is (pip compiles a wheel's modules; the image has them compiled): a checkout
    # run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile the kit's modules at every start measured.
    subprocess.run([PYTHON, "-m", "compileall", "-q", os.path.join(PROJECT, "entrypoint")], check=False)
    engine = subprocess.run(["docker", "info"], capture_output=True).returncode == 0 if shutil.which("docker") else False
    for section in args.only:
        if section in NEEDS_DOCKER and not (engine and args.image):
            row(f"[{section}]", "skipped: " + ("no Docker engine" if not engine else "no --image"))
            continue
        try:
            SECTIONS[section](args)
        except Exception as exc:  # a benchmark reports, it does not fail the build
            row(f"[{section}]", f"failed: {type(exc).__name__}: {str(exc)[:120]}")
    print(f"deeptempo-deploy benchmarks: {platform.node() or 'this machine'}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; medians over interleaved rounds")
    widths = [max(len(str(r[i])) for r in ROWS + [("figure", "value", "baseline", "ratio", "target")]) for i in range(5)]
    header = ("figure", "value", "baseline", "ratio", "target")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in ROWS:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
