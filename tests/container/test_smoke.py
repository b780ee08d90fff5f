"""`deeptempo-deploy smoke IMAGE`, run as a user's CI runs it: on the kit's image, on an image built
FROM it with the user's own app, and on a control image whose entrypoint was replaced by bare uvicorn
(which must fail, naming the checks it breaks). Every run must leave no container behind."""

import json
import subprocess

import pytest

from tests.container.images import build_from_kit
from tests.helpers import DEPLOY, RUN, RUN_FILTER

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
        "healthy", "non-root", "reaps-zombies", "stops-cleanly", "refuses-missing-secrets", "refuses-keyring", "hardened",
        "no-leak"]
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
    bare = derived_images("bare-uvicorn", f'FROM {image}\nENTRYPOINT ["uvicorn", "entrypoint.app:app", "--host", '
                                          '"0.0.0.0", "--port", "6987"]\nCMD []\n')
    code, report, _ = smoke(bare, "--timeout", "8")
    failed = {check["name"] for check in report["checks"] if not check["ok"]}
    assert code == 1 and report["ok"] is False
    assert failed == {"reaps-zombies", "refuses-missing-secrets", "refuses-keyring"}
    assert smoke_containers() == []


def test_smoke_of_an_image_that_does_not_exist_is_a_configuration_error(docker_engine):
    result = subprocess.run([*DEPLOY, "smoke", "deeptempo-no-such-image:0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "deeptempo-no-such-image:0: not found" in result.stderr and "Traceback" not in result.stderr
