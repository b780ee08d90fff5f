"""The database beside the service, judged offline: components/postgresql's StatefulSet under the shared
rules with the exceptions written in its manifest (and only those), the database's own rules on copies
broken one way each, and `shared-storage` on replicas and autoscalers without a database."""

import copy
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from deeptempo_deploy.platforms.judging import exception_findings
from deeptempo_deploy.platforms.k8s.verify import judge
from deeptempo_deploy.platforms.model import APP, DATABASE, Workload
from deeptempo_entrypoint.findings import Where
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, CANARY_DATABASE, PROJECT
from tests.readme import block

KUBECTL = shutil.which("kubectl", path=os.path.dirname(sys.executable)) or "kubectl"
SPEC = builtin_spec()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The README's overlay with components/postgresql (three replicas), rendered."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(os.path.join(PROJECT, "k8s"), root, ignore=shutil.ignore_patterns("helm"))
    overlay = root / "overlays" / "database"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(block("k8s-database-overlay"))
    (overlay / "secrets.env").write_text(f"CLAUDE_API_KEY={CANARY_CLAUDE}\nPOSTGRES_PASSWORD={CANARY_DATABASE}\n")
    result = subprocess.run([KUBECTL, "kustomize", str(overlay)], capture_output=True, text=True, check=True)
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def findings_of(documents):
    return judge(documents, SPEC, ("1.37",))[0]


def kind(documents, name):
    return next(document for document in documents if document["kind"] == name)


def database_container(documents):
    return kind(documents, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]


def test_the_statefulset_is_judged_by_the_same_rules_and_passes_with_its_written_exceptions(rendered):
    assert findings_of(rendered) == []
    # Without its exceptions, what it needs beyond the backend's defaults is found, on its container.
    bare = copy.deepcopy(rendered)
    kind(bare, "StatefulSet")["metadata"].pop("annotations")
    found = {(f.rule, f.where.object) for f in findings_of(bare) if f.is_error}
    assert found == {(rule, "StatefulSet deeptempo-postgresql") for rule in ("secret-reachable", "health-probe", "service-port")}


def _other_key(documents):
    volume = next(v for v in kind(documents, "StatefulSet")["spec"]["template"]["spec"]["volumes"] if v["name"] == "password")
    volume["secret"]["items"][0]["key"] = "CLAUDE_API_KEY"


def _no_network_policy(documents):
    documents.remove(next(d for d in documents if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "deeptempo-postgresql"))


def _data_on_an_empty_dir(documents):
    statefulset = kind(documents, "StatefulSet")
    statefulset["spec"].pop("volumeClaimTemplates")
    statefulset["spec"]["template"]["spec"]["volumes"].append({"name": "data", "emptyDir": {}})


def _probe_on_the_socket(documents):
    database_container(documents)["readinessProbe"]["exec"]["command"] = ["pg_isready", "-U", "deeptempo"]


def _no_service(documents):
    documents.remove(next(d for d in documents if d["kind"] == "Service" and d["metadata"]["name"] == "deeptempo-postgresql"))


def _exception_nobody_needs(documents):
    annotations = kind(documents, "StatefulSet")["metadata"]["annotations"]
    annotations["deeptempo.io/verify-exceptions"] += "non-root: it is not root anyway\n"


def _exception_of_no_rule(documents):
    annotations = kind(documents, "StatefulSet")["metadata"]["annotations"]
    annotations["deeptempo.io/verify-exceptions"] += "no-such-rule: because\n"


BROKEN = {
    "password-from-another-key": (_other_key, "error", "database-password"),
    "no-network-policy": (_no_network_policy, "warning", "database-network"),
    "data-on-an-empty-dir": (_data_on_an_empty_dir, "warning", "database-storage"),
    "probe-on-the-socket": (_probe_on_the_socket, "warning", "database-probe"),
    "no-service": (_no_service, "error", "database-network"),
    "unneeded-exception": (_exception_nobody_needs, "warning", "exception"),
    "exception-of-no-rule": (_exception_of_no_rule, "error", "exception"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_copy_broken_one_way_is_named_under_its_rule(rendered, case):
    change, level, rule = BROKEN[case]
    documents = copy.deepcopy(rendered)
    change(documents)
    found = [f for f in findings_of(documents) if f.level == level]
    assert rule in {f.rule for f in found}, [f.text() for f in findings_of(documents)]
    assert CANARY_DATABASE not in " ".join(f.text() for f in findings_of(documents))


@pytest.mark.parametrize("autoscaler", [
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "deeptempo"},
     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "deeptempo"},
              "minReplicas": 1, "maxReplicas": 4}},
    None,
])
def test_replicas_or_an_autoscaler_without_a_database_are_refused(rendered, autoscaler):
    documents = [d for d in copy.deepcopy(rendered) if d["kind"] not in ("StatefulSet", "ConfigMap")
                 and d["metadata"]["name"] != "deeptempo-postgresql"]
    deployment = kind(documents, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] == "SECRETS_BACKEND"]
    deployment["spec"]["replicas"] = 1 if autoscaler else 3
    documents += [autoscaler] if autoscaler else []
    (storage,) = [f for f in findings_of(documents) if f.rule == "shared-storage"]
    assert storage.is_error and "POSTGRES_HOST" in storage.message and "DATA_BACKEND" in storage.message
    assert ("autoscaler" in storage.message) == bool(autoscaler)
    deployment["spec"]["replicas"] = 1
    documents = [d for d in documents if d["kind"] != "HorizontalPodAutoscaler"]
    assert not [f for f in findings_of(documents) if f.rule == "shared-storage"]  # one replica: JSON files are its own


def test_a_configmap_made_elsewhere_may_hold_the_host_so_it_is_a_warning(rendered):
    documents = [d for d in copy.deepcopy(rendered) if d["kind"] != "ConfigMap"]
    storage = [f for f in findings_of(documents) if f.rule == "shared-storage"]
    assert [f.level for f in storage] == ["warning"]


def test_exceptions_belong_to_the_database_alone_and_each_needs_a_reason():
    service = Workload("k8s", Where(object="Deployment deeptempo"), role=APP, exceptions={"non-root": "why not"})
    assert [(f.rule, f.level) for f in exception_findings(service, {"non-root"})] == [("exception", "error")]
    database = Workload("k8s", Where(object="StatefulSet db"), role=DATABASE,
                        exceptions={"health-probe": "", "init": "it runs one", "bogus": "x"})
    found = {f.message.split(",")[0]: f.level for f in exception_findings(database, {"health-probe"})}
    assert found == {"the exception to health-probe gives no reason; say why the database needs it": "error",
                     "the exception to init is not needed (the rule finds nothing here); remove it": "warning",
                     "an exception names bogus": "error"}
