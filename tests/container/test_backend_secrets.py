"""The real DeepTempo backend's secrets, on its own code: no process it starts holds a secret the spec does
not give it (every program start traced from the host with strace, canaries as files and as
environment); a database password rotated with its connections cut keeps every request on PostgreSQL,
served by a new instance; a Claude key swapped in its file is served without a restart; and serve waits
for its database, naming what is wrong when it cannot log in (78) or reach it (69)."""

import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from deeptempo_deploy.testing import DatabaseContainer, DeepTempoContainer, NotHealthy, StartRefused
from deeptempo_entrypoint.spec import builtin_spec
from tests.container.containers import LABELS
from tests.helpers import CANARY_CLAUDE

START = 300  # seconds the backend may take to turn healthy here (11-15 s alone; 20-48 s under the tests' load)
CANARIES = {  # one per secret of the spec, each of its format
    "CLAUDE_API_KEY": CANARY_CLAUDE,
    "ANTHROPIC_API_KEY": "sk-ant-CANARYanthropic0123456789",
    "AWS_ACCESS_KEY_ID": "AKIACANARYAWSKEY0123",
    "AWS_SECRET_ACCESS_KEY": "CanaryAwsSecret0123456789abcdefABCDEFxyz",
    "TIMESKETCH_PASSWORD": "Canary-Timesketch-Passw0rd",
    "SPLUNK_PASSWORD": "Canary-Splunk-Passw0rd-2",
    "CRIBL_PASSWORD": "Canary-Cribl-Passw0rd",
    "GITHUB_TOKEN": "ghp_CANARYgithub0123456789abcdefABCDEF",
    "POSTGRESQL_CONNECTION_STRING": "postgresql://mcp:Canary-Mcp-Passw0rd@db.invalid:5432/mcp",
    "POSTGRES_PASSWORD": "Canary-Postgres-Passw0rd",
}
AS_FILES = {"CLAUDE_API_KEY", "GITHUB_TOKEN", "POSTGRESQL_CONNECTION_STRING", "POSTGRES_PASSWORD", "SPLUNK_PASSWORD"}


def get(soc, path, timeout=60):
    with urllib.request.urlopen(soc.url(path), timeout=timeout) as answer:
        return answer.status, answer.read().decode()


def post(soc, path, document=None, timeout=60):
    request = urllib.request.Request(soc.url(path), data=json.dumps(document or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, answer.read().decode()


def psql(database, sql):
    result = database.exec(["psql", "-v", "ON_ERROR_STOP=1", "-U", database.username, "-d", database.dbname, "-tAc", sql])
    assert result.exit_code == 0, result.output.decode()[-500:]
    return result.output.decode().strip()


@pytest.fixture
def database(postgres_image):
    with DatabaseContainer(postgres_image, password=CANARIES["POSTGRES_PASSWORD"], labels=LABELS) as started:
        yield started


# --- children ----------------------------------------------------------------------------------------

EXECVE = re.compile(r'execve\("(?P<path>[^"]*)", \[(?P<argv>.*?)\], \[(?P<envp>.*?)\]( /\* \d+ vars \*/)?\) = (?P<result>.*)$')


def traced_starts(trace_file):
    """(program, argv text, envp text, result) for each execve strace recorded."""
    starts = []
    for line in open(trace_file, errors="replace"):
        found = EXECVE.search(line)
        if found:
            starts.append((os.path.basename(found["path"]), found["argv"], found["envp"], found["result"]))
    return starts


def test_no_process_the_backend_starts_holds_a_secret_it_is_not_given(backend_image, database, tmp_path):
    if not shutil.which("strace"):
        pytest.fail("strace is not installed (scripts/test installs Debian's strace)", pytrace=False)
    soc = DeepTempoContainer(backend_image, labels=LABELS).with_database(database)
    for name, value in CANARIES.items():
        if name in AS_FILES:
            soc.with_secret(name, value)  # the secrets directory (DeepTempoContainer's default delivery)
        elif name != "POSTGRES_PASSWORD":
            soc.with_env(name, value)  # the rest in the container's environment
    trace_file = tmp_path / "execve.trace"
    tracers = []

    def trace(container):
        """strace from the host on every process of the container (tini, serve: the app takes seconds to
        import before it starts anything) and every process they start from then on."""
        listed = subprocess.run(["docker", "top", container.get_wrapped_container().id, "-eo", "pid"], capture_output=True,
                                text=True, check=True).stdout.split()[1:]
        attach = [argument for pid in listed for argument in ("-p", pid)]
        tracers.append(subprocess.Popen(["strace", "-f", "-qq", "-v", "-s", "4096", "-e", "trace=execve", "-e", "signal=none",
                                         "-o", str(trace_file), *attach], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        time.sleep(1)  # strace has attached

    try:
        soc.start(timeout=START, on_started=trace)
        assert get(soc, "/api/integrations/compatibility/system")[0] == 200  # pip --version
        get(soc, "/api/mcp/servers/status")  # pgrep -f
        get(soc, "/api/timesketch/docker/status")  # docker --version (not installed: attempted)
        post(soc, "/api/mcp/servers/deeptempo-findings/start")  # the findings server, with env=os.environ.copy()
        time.sleep(3)
        log = soc.logs()
    finally:
        for tracer in tracers:
            tracer.terminate()
            tracer.wait(timeout=30)
        soc.stop()
    starts = traced_starts(trace_file)
    programs = [program for program, *_ in starts]
    commands = [argv for _, argv, _, _ in starts]
    assert any("pip" in argv and "--version" in argv for argv in commands)  # at start and on the compatibility route
    assert sum("mcp_servers." in argv for argv in commands) >= 20  # its Python MCP servers
    assert any("deeptempo_findings_server" in argv for argv in commands)
    assert {"pgrep", "docker", "npx"} <= set(programs) | {os.path.basename(argv.split('"')[1]) for argv in commands if '"' in argv}
    allowed = {name: builtin_spec().by_name[name].children for name in CANARIES}
    holders = [f"{program} holds {name}" for program, _, envp, _ in starts for name, value in CANARIES.items()
               if value in envp and not (allowed[name] == "all" or program in allowed[name])]
    assert holders == []  # names only: the trace itself holds the canaries
    # The npx PostgreSQL server's command line carries the connection string (mcp-config.json): reported by name.
    assert "POSTGRESQL_CONNECTION_STRING is on the command line of npx" in log
    assert not any(value in log for value in CANARIES.values())


# --- rotation ----------------------------------------------------------------------------------------

class Client(threading.Thread):
    """Creates cases and asks the health without pause; what every answer said."""

    def __init__(self, soc):
        super().__init__(daemon=True)
        self.soc, self.stop = soc, threading.Event()
        self.created, self.failures, self.storages = 0, [], []

    def run(self):
        while not self.stop.is_set():
            try:
                status, body = post(self.soc, "/api/cases/", {"title": "rotation", "finding_ids": [], "priority": "low"})
                if status != 200:
                    self.failures.append(f"POST {status}")
                else:
                    self.created += 1
                self.storages.append(json.loads(get(self.soc, "/api/health")[1])["storage"]["backend"])
            except (urllib.error.URLError, OSError, ValueError) as exc:
                self.failures.append(type(exc).__name__)


def test_a_rotated_database_password_with_its_connections_cut_keeps_every_request_on_postgresql(backend_image, database):
    new_password = "Canary-Postgres-Rotated-1"
    soc = DeepTempoContainer(backend_image, labels=LABELS).with_secret("CLAUDE_API_KEY", CANARY_CLAUDE).with_database(database)
    with soc.with_setting("DEEPTEMPO_REQUIRE_STORAGE", "postgresql") as soc:
        assert json.loads(get(soc, "/api/health")[1])["storage"]["backend"] == "postgresql"
        before = int(psql(database, "SELECT count(*) FROM cases"))
        client = Client(soc)
        client.start()
        time.sleep(2)
        psql(database, f"ALTER USER {database.username} PASSWORD '{new_password}'")
        changed_at = psql(database, "SELECT now()")  # the database's clock: connections older than this are the old ones
        path = os.path.join(soc.secrets_dir, "POSTGRES_PASSWORD")
        with open(path + ".new", "w") as stream:
            stream.write(new_password)
        os.chmod(path + ".new", 0o644)
        os.replace(path + ".new", path)  # as an editor or a Kubernetes ..data swap replaces it
        swapped = time.monotonic()
        while "restarted the app for POSTGRES_PASSWORD" not in soc.logs():
            assert time.monotonic() - swapped < START, soc.logs()[-3000:]
            time.sleep(1)
        # The connections that existed when the password changed (the old instance's, authenticated with the
        # old password): cut every one left. The new instance's, opened since, are not the rotation's to cut.
        psql(database, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{database.username}' "
                       f"AND pid <> pg_backend_pid() AND backend_start < '{changed_at}'")
        time.sleep(5)
        client.stop.set()
        client.join(timeout=120)
        log = soc.logs()
        assert client.failures == [], client.failures[:10]
        assert client.created > 0 and set(client.storages) == {"postgresql"}
        assert int(psql(database, "SELECT count(*) FROM cases")) == before + client.created
        pids = re.findall(r"restarted the app for POSTGRES_PASSWORD: processes \[(\d+)\] serve", log)
        assert pids and "Started server process [" + pids[-1] + "]" in log  # a new instance serves
        assert new_password not in log and CANARIES["POSTGRES_PASSWORD"] not in log


def test_a_swapped_claude_key_is_served_without_a_restart(backend_image):
    first, second = "sk-ant-AcanaryFollow0123456789", "sk-ant-BcanaryFollow0123456789"
    soc = DeepTempoContainer(backend_image, labels=LABELS).with_secret("CLAUDE_API_KEY", first).with_setting("DATA_BACKEND", "json")
    with soc as soc:
        preview = json.loads(get(soc, "/api/config/claude")[1])["key_preview"]
        assert preview.startswith(first[:8])
        path = os.path.join(soc.secrets_dir, "CLAUDE_API_KEY")
        with open(path + ".new", "w") as stream:
            stream.write(second)
        os.chmod(path + ".new", 0o644)
        os.replace(path + ".new", path)
        swapped = time.monotonic()
        while not json.loads(get(soc, "/api/config/claude")[1])["key_preview"].startswith(second[:8]):
            assert time.monotonic() - swapped < 10  # a generous bound; the latency itself is a benchmark's
            time.sleep(0.1)
        assert "restarting the app" not in soc.logs()  # followed, not restarted


# --- serve waits for the database ------------------------------------------------------------------

def test_serve_waits_for_a_database_that_is_not_up_yet_then_serves_on_it(backend_image, postgres_image):
    database = DatabaseContainer(postgres_image, password=CANARIES["POSTGRES_PASSWORD"], labels=LABELS)
    database.ensure_network()  # the service joins it before the database runs
    soc = DeepTempoContainer(backend_image, labels=LABELS).with_secret("CLAUDE_API_KEY", CANARY_CLAUDE).with_database(database)
    waiting = threading.Thread(target=lambda: soc.start(timeout=START))
    try:
        waiting.start()
        time.sleep(8)  # serve is waiting: the database does not exist yet
        assert "Uvicorn running" not in soc.logs()
        database.start()
        waiting.join(timeout=START)
        health = json.loads(get(soc, "/api/health")[1])
        assert health["storage"]["backend"] == "postgresql"
        assert re.search(r"the database at postgres:5432 accepted the login after \d+\.\d s", soc.logs())
    finally:
        soc.stop()
        database.stop()


def test_a_refused_password_exits_78_naming_it(backend_image, database):
    soc = DeepTempoContainer(backend_image, labels=LABELS).with_secret("CLAUDE_API_KEY", CANARY_CLAUDE).with_database(database)
    soc.with_secret("POSTGRES_PASSWORD", "Canary-Not-The-Password-9")
    with pytest.raises(StartRefused) as refused:
        soc.start(timeout=START)
    message = "\n".join(refused.value.findings)
    assert "POSTGRES_PASSWORD: the database refuses this password for POSTGRES_USER" in message
    assert "Canary-Not-The-Password-9" not in message


def test_a_database_that_never_answers_exits_69_naming_host_and_port(backend_image):
    soc = (DeepTempoContainer(backend_image, labels=LABELS).with_secret("CLAUDE_API_KEY", CANARY_CLAUDE)
           .with_secret("POSTGRES_PASSWORD", CANARIES["POSTGRES_PASSWORD"])
           .with_setting("POSTGRES_HOST", "db.invalid").with_setting("DEEPTEMPO_DATABASE_WAIT", "5"))
    with pytest.raises(NotHealthy) as unhealthy:
        soc.start(timeout=START)
    assert "exited 69" in str(unhealthy.value)
    assert "POSTGRES_HOST: the database at db.invalid:5432 did not accept a login within 5 s" in str(unhealthy.value)


def test_the_probe_turns_a_fall_back_to_json_unhealthy(backend_image, database):
    soc = (DeepTempoContainer(backend_image, labels=LABELS).with_secret("CLAUDE_API_KEY", CANARY_CLAUDE).with_database(database)
           .with_setting("DEEPTEMPO_REQUIRE_STORAGE", "postgresql"))
    with soc as soc:
        assert soc.exec(["deeptempo-probe"]).exit_code == 0
        database.get_wrapped_container().stop(timeout=10)  # the database goes away: the backend falls back to JSON
        deadline = time.monotonic() + 60
        while soc.exec(["deeptempo-probe"]).exit_code == 0:
            assert time.monotonic() < deadline, "the probe stayed healthy on JSON storage"
            time.sleep(1)
        assert json.loads(get(soc, "/api/health")[1])["storage"]["backend"] == "json"  # what the probe caught
