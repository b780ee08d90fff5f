"""The documentation's reference pages read from the code (docs/reference/rules.md and spec.md) are the
ones committed; the generator finds every rule the code applies and every entry of the spec."""

import os
import subprocess
import sys

from deeptempo_deploy.docs_reference import pages, platform_rules
from deeptempo_deploy.platforms.rules import RULES
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import PROJECT

REFERENCE = os.path.join(PROJECT, "docs", "reference")
GENERATE = [sys.executable, "-m", "deeptempo_deploy.docs_reference"]


def test_the_committed_pages_are_the_generated_ones():
    for name, text in pages().items():
        assert open(os.path.join(REFERENCE, name)).read() == text, (
            f"docs/reference/{name} differs from the code: run python -m deeptempo_deploy.docs_reference")


def test_check_fails_on_a_page_that_drifted_and_writing_repairs_it(tmp_path):
    written = subprocess.run([*GENERATE, str(tmp_path)], capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    assert subprocess.run([*GENERATE, "--check", str(tmp_path)], capture_output=True, text=True).returncode == 0
    rules = tmp_path / "rules.md"
    rules.write_text(rules.read_text().replace("`non-root`", "`not-root`"))
    checked = subprocess.run([*GENERATE, "--check", str(tmp_path)], capture_output=True, text=True)
    assert checked.returncode == 1 and "rules.md: differs from the code" in checked.stderr
    assert "`not-root`" in rules.read_text()  # --check writes nothing


def test_every_rule_and_every_spec_entry_is_on_its_page():
    rules_page, spec_page = pages()["rules.md"], pages()["spec.md"]
    for rule in RULES:
        assert f"| `{rule.id}` | {rule.summary}" in rules_page
    for entry in builtin_spec():
        assert f"| `{entry.name}`" in spec_page


def test_the_platforms_own_rules_are_found_where_the_code_makes_them():
    """Rules made by Finding(...), a database's self.finding(...), a problems list's tuples and a named
    constant: each kind of call site the generator reads, on a rule known to be made that way."""
    found = platform_rules()
    assert {"compose-schema", "restart", "database-order", "database-password"} <= set(found["compose"])
    assert {"restricted", "secret-keys", "database-network"} <= set(found["k8s"])
    assert {"fargate", "roles", "least-privilege", "value-from"} <= set(found["ecs"])
    assert {"hardening", "state-directory", "exec-start", "restart-prevent"} <= set(found["systemd"])
    assert {"exception", "input"} <= set(found["every"])
    assert found["helm"] == {}  # the chart's render is judged by k8s's rules
