"""`deeptempo-deploy smoke IMAGE`, run as a user's CI runs it: on the kit's image, on an image built
FROM it with the user's own app, and on a control image whose entrypoint was replaced by bare uvicorn
(which must fail, naming the checks it breaks). Every run must leave no container behind."""

import json
import os
import subprocess
import sys

import pytest

from tests.container.images import build_from_kit
from tests.helpers import DEPLOY, PROJECT, RUN, RUN_FILTER
from tests.readme import block

USER_APP = '''\
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request):
    return JSONResponse({"status": "healthy", "app": "user"})

app = Starlette(routes=[Route("/healthz", health)])
'''


def smoke(image, *options):
    result = subprocess.run([*DEPLOY, "smoke", image, "--json", *options], capture_output=True, text=True, timeout=300)
    return result.returncode, json.loads(result.stdout), result.stderr


def smoke_containers():
    listed = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.deeptempo.deploy=smoke", *RUN_FILTER], capture_output=True,
                            text=True, check=True)
    return listed.stdout.split()


@pytest.fixture
def derived_images(image, tmp_path):
    built = []

    def build(name, dockerfile, files=None):
        directory = tmp_path / name
        directory.mkdir()
        built.append(build_from_kit(directory, f"deeptempo-test-{name}:{RUN}", dockerfile, files))
        return built[-1]

    yield build
    subprocess.run(["docker", "rmi", "-f", *built], capture_output=True)


def test_smoke_passes_on_the_kits_image(image):
    code, report, stderr = smoke(image)
    assert code == 0, json.dumps(report, indent=2) + stderr
    assert [check["name"] for check in report["checks"]] == [
        "healthy", "non-root", "reaps-zombies", "app-leaks", "stops-cleanly", "refuses-missing-secrets", "refuses-keyring",
        "hardened", "volumes", "no-leak"]
    crawl = next(check for check in report["checks"] if check["name"] == "app-leaks")
    assert crawl["skipped"] is True and "no OpenAPI document at /openapi.json" in crawl["detail"]  # the built-in app has none
    assert smoke_containers() == []


def test_smoke_passes_on_an_image_built_from_the_kit_with_its_own_app_port_and_health_path(image, derived_images):
    user_image = derived_images("user-app", f"FROM {image}\nCOPY userapp.py /srv/userapp.py\n"
                                            "ENV APP_MODULE=userapp:app PYTHONPATH=/srv PORT=8080\nEXPOSE 8080\n"
                                            "HEALTHCHECK CMD [\"python\", \"-c\", \"import urllib.request; "
                                            "urllib.request.urlopen('http://127.0.0.1:8080/healthz')\"]\n",
                                {"userapp.py": USER_APP})
    code, report, stderr = smoke(user_image, "--port", "8080", "--health-path", "/healthz")
    assert code == 0, json.dumps(report, indent=2) + stderr
    assert smoke_containers() == []


def test_smoke_fails_naming_the_checks_on_an_image_whose_entrypoint_is_bare_uvicorn(image, derived_images):
    bare = derived_images("bare-uvicorn", f'FROM {image}\nENTRYPOINT ["uvicorn", "deeptempo_entrypoint.app:app", "--host", '
                                          '"0.0.0.0", "--port", "6987"]\nCMD []\n')
    code, report, _ = smoke(bare, "--timeout", "8")
    failed = {check["name"] for check in report["checks"] if not check["ok"] and not check["skipped"]}
    assert code == 1 and report["ok"] is False
    assert failed == {"reaps-zombies", "refuses-missing-secrets", "refuses-keyring"}
    assert smoke_containers() == []


def test_a_writable_path_the_image_declares_no_volume_for_fails_the_volumes_check(image):
    code, report, _ = smoke(image, "--writable", "/srv/deeptempo/extra")
    checks = {check["name"]: check for check in report["checks"]}
    assert code == 1 and checks["volumes"]["ok"] is False and checks["hardened"]["ok"] is True
    assert "no VOLUME declared at /srv/deeptempo/extra" in checks["volumes"]["detail"]
    assert [name for name, check in checks.items() if not check["ok"] and not check["skipped"]] == ["volumes"]


def test_smoke_of_an_image_that_does_not_exist_is_a_configuration_error(docker_engine):
    result = subprocess.run([*DEPLOY, "smoke", "deeptempo-no-such-image:0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "deeptempo-no-such-image:0: not found" in result.stderr and "Traceback" not in result.stderr


def test_a_spec_compiled_in_the_image_build_loads_without_parsing_in_a_read_only_container(image, derived_images, runner):
    """`RUN deeptempo-entrypoint compile-spec --spec F` in a user's build keeps the checked spec in the
    image's cache: a read-only container then loads it as JSON, with neither YAML nor JSON Schema imported."""
    from deeptempo_deploy.platforms.runner import ContainerSpec

    spec_text = open(os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint", "spec", "spec.yaml")).read()
    dockerfile = block("spec-in-image").replace("FROM deeptempo-ai-soc:0.1.0", f"FROM {image}")  # this run's image
    tag = derived_images("compiled-spec", dockerfile, {"spec.yaml": spec_text})
    probe = ("import sys; from deeptempo_entrypoint.spec import load_spec; spec = load_spec(); "
             "print(len(spec.entries), 'yaml' in sys.modules, 'jsonschema' in sys.modules)")
    running = runner.start(ContainerSpec(tag, read_only=True, tmpfs={"/tmp": ""}, publish=(), healthcheck={"test": ["NONE"]},
                                         entrypoint=["sleep", "60"]))
    code, output = running.exec(["/opt/venv/bin/python", "-c", probe])
    assert code == 0 and output.split() == [str(spec_text.count("  - name: ")), "False", "False"], output


@pytest.fixture(scope="module")
def six_wheel(tmp_path_factory):
    """six's wheel, fetched once from the package index the host uses (the image has no index of its own)."""
    directory = tmp_path_factory.mktemp("wheels")
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(directory),
                             "six==1.17.0"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = directory.iterdir()
    return wheel


def test_pip_install_works_in_an_image_built_from_the_kit(image, derived_images, runner, six_wheel):
    """The runtime has no pip; `pip` brings it back from the interpreter's bundled wheel, offline, as
    root (the venv is root's); as the service user it fails with the one line naming the fix."""
    from deeptempo_deploy.platforms.runner import ContainerSpec

    wheel = six_wheel.read_bytes()
    # The README's recipe, as typed, but for this run's image and six from a wheel beside it (no index here).
    recipe = block("pip-in-image").replace("FROM deeptempo-ai-soc:0.1.0", f"FROM {image}\nCOPY {six_wheel.name} /wheels/")
    dockerfile = recipe.replace("pip install --no-cache-dir six", "pip install --no-cache-dir --no-index --find-links /wheels six")
    assert dockerfile != recipe
    directory_files = {six_wheel.name: wheel}
    tag = derived_images("with-six", dockerfile, directory_files)
    running = runner.start(ContainerSpec(tag, publish=(), healthcheck={"test": ["NONE"]}, entrypoint=["sleep", "60"]))
    code, output = running.exec(["python", "-c", "import six; print(six.__version__)"])
    assert code == 0 and output.strip() == "1.17.0", output
    with pytest.raises(AssertionError) as refused:
        derived_images("six-as-the-service-user", f"FROM {image}\nRUN pip install six\n")
    assert "pip: /opt/venv belongs to root: put USER root before this RUN (and USER 10001:10001 after it)" in str(refused.value)


LEAKY_APP = """
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

# The DeepTempo backend's own leaks, reproduced: a key's first 8 characters, a token's first 12, and the
# integrations' credentials in full; a route with a parameter and a POST the crawl leaves alone.
PATHS = {"/api/health": {"get": {}}, "/api/config/claude": {"get": {}}, "/api/config/github": {"get": {}},
         "/api/config/integrations": {"get": {}}, "/api/cases/{case_id}": {"get": {}}, "/api/config/save": {"post": {}}}


async def openapi(request):
    return JSONResponse({"openapi": "3.1.0", "info": {"title": "stand-in", "version": "1"}, "paths": PATHS})


async def health(request):
    return JSONResponse({"status": "healthy"})


async def claude(request):
    return JSONResponse({"configured": True, "key_preview": os.environ.get("CLAUDE_API_KEY", "")[:8]})


async def github(request):
    return JSONResponse({"configured": True, "token_preview": os.environ.get("GITHUB_TOKEN", "")[:12]})


async def integrations(request):
    return JSONResponse({"splunk": {"url": "https://splunk.invalid:8089", "password": os.environ.get("SPLUNK_PASSWORD")}})


async def case(request):
    return JSONResponse({"timesketch": os.environ.get("TIMESKETCH_PASSWORD")})


async def save(request):
    return JSONResponse({"cribl": os.environ.get("CRIBL_PASSWORD")})


app = Starlette(routes=[Route("/openapi.json", openapi), Route("/api/health", health), Route("/api/config/claude", claude),
                        Route("/api/config/github", github), Route("/api/config/integrations", integrations),
                        Route("/api/cases/{case_id}", case), Route("/api/config/save", save, methods=["POST"])])
"""


def test_smoke_names_the_routes_through_which_an_app_leaks_its_secrets(image, derived_images):
    leaky = derived_images("leaky-app", f"FROM {image}\nCOPY leaky.py /srv/leaky.py\nENV APP_MODULE=leaky:app PYTHONPATH=/srv\n",
                           {"leaky.py": LEAKY_APP})
    code, report, stderr = smoke(leaky)
    checks = {check["name"]: check for check in report["checks"]}
    assert code == 1 and [name for name, check in checks.items() if not check["ok"]] == ["app-leaks"], stderr
    detail = checks["app-leaks"]["detail"]
    assert "GET /api/config/github (200) answers part of GITHUB_TOKEN" in detail
    assert "GET /api/config/integrations (200) answers SPLUNK_PASSWORD in full" in detail
    assert "CLAUDE_API_KEY" not in detail  # 8 characters are its fixed prefix and one more: nothing revealed
    assert "TIMESKETCH_PASSWORD" not in detail and "CRIBL_PASSWORD" not in detail  # a parameter, a POST: not requested
    assert "1 with path parameters left out" in detail
    code, report, _ = smoke(leaky, "--route", "POST /api/config/save")
    detail = next(check for check in report["checks"] if check["name"] == "app-leaks")["detail"]
    assert "POST /api/config/save (200) answers CRIBL_PASSWORD in full" in detail
    assert smoke_containers() == []


def test_a_wrong_port_or_health_path_is_named_and_the_checks_it_stops_are_listed_as_skipped(image):
    code, report, _ = smoke(image, "--port", "8080", "--timeout", "5")
    checks = {check["name"]: check for check in report["checks"]}
    assert code == 1 and "nothing answers on port 8080 (does the app listen there? --port)" in checks["healthy"]["detail"]
    assert [name for name, check in checks.items() if check["skipped"]] == ["non-root", "reaps-zombies", "app-leaks", "stops-cleanly"]
    assert all("never turned healthy" in checks[name]["detail"] for name in ("non-root", "stops-cleanly"))
    code, report, _ = smoke(image, "--health-path", "/healthz", "--timeout", "5")
    healthy = next(check for check in report["checks"] if check["name"] == "healthy")
    assert "GET /healthz on port 6987 answers 404 (is that the health path? --health-path)" in healthy["detail"]
