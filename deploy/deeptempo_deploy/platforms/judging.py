"""Every workload of a deployment under the shared rules (platforms/rules.py): the DeepTempo service, the
PostgreSQL beside it and a chart's test hook, judged by the same rules. What the database or the test
needs beyond the kit's defaults (the database asks pg_isready rather than the service's health path; the
test serves nothing and is itself a probe; neither needs the service's secrets) is an exception written
in its own manifest with its reason, never a silent pass: an exception that no finding needs, or that
names no rule, is itself reported."""

from collections.abc import Iterable

from deeptempo_deploy.platforms.model import DATABASE, TEST, Workload
from deeptempo_deploy.platforms.rules import RULE_IDS, shared_findings
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding
from deeptempo_entrypoint.spec.model import Spec

RULE_EXCEPTION = "exception"


def judge_workloads(workloads: Iterable[Workload], spec: Spec) -> list[Finding]:
    """The shared rules over each workload, less what its documented exceptions except."""
    found: list[Finding] = []
    for workload in workloads:
        findings = shared_findings([workload], spec)
        found += [finding for finding in findings if finding.rule not in workload.exceptions]
        found += exception_findings(workload, {finding.rule for finding in findings})
    return found


def exception_findings(workload: Workload, fired: set[str | None]) -> list[Finding]:
    """What is wrong with a workload's exceptions themselves: only a database or a test may have them, each
    names a rule and says why, and each is needed."""
    if not workload.exceptions:
        return []
    if workload.role not in (DATABASE, TEST):
        return [Finding(None, ERROR, f"declares exceptions ({', '.join(sorted(workload.exceptions))}), which only the "
                                     "database beside the service and a test hook may have: the service meets every rule",
                        RULE_EXCEPTION, workload.where)]
    found = []
    for rule, why in sorted(workload.exceptions.items()):
        if rule not in RULE_IDS:
            found.append(Finding(None, ERROR, f"an exception names {rule}, which is no rule of the kit's "
                                              f"({', '.join(RULE_IDS)})", RULE_EXCEPTION, workload.where))
        elif not str(why or "").strip():
            found.append(Finding(None, ERROR, f"the exception to {rule} gives no reason; say why the {workload.role} needs it",
                                 RULE_EXCEPTION, workload.where))
        elif rule not in fired:
            found.append(Finding(None, WARNING, f"the exception to {rule} is not needed (the rule finds nothing here); "
                                                "remove it", RULE_EXCEPTION, workload.where))
    return found
