"""`verify systemd` on the shipped units (systemd-analyze verify and security, offline) and on copies
broken one way each."""

import json
import os
import re
import subprocess

import pytest

from tests.helpers import CANARY_CLAUDE, DEPLOY, PROJECT

UNITS = sorted(os.path.join(PROJECT, "systemd", name) for name in os.listdir(os.path.join(PROJECT, "systemd"))
               if name.endswith(".service"))
DROP_IN = os.path.join(PROJECT, "systemd", "local-postgresql.conf")


def verify(*units, options=()):
    result = subprocess.run([*DEPLOY, "verify", "systemd", *map(str, units), "--json", *options], capture_output=True, text=True)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def exposure(unit):
    directory = os.path.dirname(unit)
    name = os.path.basename(unit).replace("@.", "@x.")
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", name], cwd=directory, capture_output=True, text=True)
    return float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout).group(1))


@pytest.mark.parametrize("unit", UNITS, ids=os.path.basename)
def test_each_shipped_unit_passes_with_an_exposure_of_at_most_2(unit):
    code, report, stderr = verify(unit)
    assert code == 0, json.dumps(report, indent=2) + stderr
    assert exposure(unit) <= 2.0


def test_the_local_database_drop_in_orders_every_unit_after_postgresql_and_keeps_it_verified(tmp_path):
    """Installed beside a unit (UNIT.d/), as the README says: the unit still verifies, and systemd reads the
    drop-in's ordering (its unit file and drop-ins, as `systemd-analyze cat-config` shows what it loads)."""
    for unit in UNITS:
        name = os.path.basename(unit)
        (tmp_path / name).write_text(open(unit).read())
        (tmp_path / f"{name}.d").mkdir()
        (tmp_path / f"{name}.d" / "local-postgresql.conf").write_text(open(DROP_IN).read())
        code, report, stderr = verify(tmp_path / name)
        assert code == 0, json.dumps(report, indent=2) + stderr
    lines = [line for line in open(DROP_IN).read().splitlines() if line and not line.startswith("#")]
    assert lines == ["[Unit]", "After=postgresql.service", "Wants=postgresql.service"]


BROKEN = {
    "secret-in-environment": (lambda t: t.replace("Environment=SECRETS_BACKEND=env", f"Environment=SECRETS_BACKEND=env\nEnvironment=CLAUDE_API_KEY={CANARY_CLAUDE}"),
                              "no-literal-secret"),
    "no-restart-prevent": (lambda t: re.sub(r"RestartPreventExitStatus=78\n", "", t), "restart-prevent"),
    "protect-system-removed": (lambda t: t.replace("ProtectSystem=strict\n", ""), "read-only-root"),
    "misspelt-key": (lambda t: t.replace("ProtectClock=yes", "ProtectClok=yes"), "systemd-verify"),
    "not-serve": (lambda t: t.replace(" serve\n", " check\n"), "exec-start"),
    "root": (lambda t: t.replace("User=deeptempo", "User=root"), "non-root"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verify_fails_naming_the_rule_on_a_copy_broken_one_way(tmp_path, case):
    change, rule = BROKEN[case]
    unit = tmp_path / "deeptempo.service"
    unit.write_text(change(open(os.path.join(PROJECT, "systemd", "deeptempo.service")).read()))
    code, report, stderr = verify(unit)
    assert code == 78, stderr
    errors = [f["rule"] for f in report["findings"] if f["level"] == "error"]
    assert errors and all(found == rule for found in errors), errors
    assert CANARY_CLAUDE not in json.dumps(report) + stderr


def test_an_exposure_above_the_maximum_is_a_finding(tmp_path):
    code, report, _ = verify(os.path.join(PROJECT, "systemd", "deeptempo.service"), options=("--max-exposure", "0.5"))
    assert code == 78 and [f["rule"] for f in report["findings"] if f["level"] == "error"] == ["exposure"]
