"""deeptempo_deploy.canaries: smoke's canaries are found when an answer holds one in full or by a run
too long to be there by chance (a preview of a token's first characters included), and never by
accident: the computed bound for 10 MB of answers is below one in a million, and 100,000 canaries run
over the DeepTempo backend's own findings data (its /api/findings/ answer) match nothing."""

import json
import os

import pytest

from deeptempo_deploy.canaries import ALNUM, FALSE_ALARM_BOUND, MIN_RUN, Answer, LeakSearch, generate, shapes
from deeptempo_deploy.smoke import canary_for
from deeptempo_entrypoint.spec import builtin_spec
from deeptempo_entrypoint.validation import value_problem
from tests.helpers import BACKEND_SOURCE

SPEC = builtin_spec()


def canaries():
    return [canary_for(entry) for entry in SPEC.secrets]


def test_every_secret_of_the_built_in_spec_gets_a_canary_of_its_format_and_widest_alphabet():
    for entry, canary in zip(SPEC.secrets, canaries(), strict=True):
        assert canary is not None and value_problem(entry, canary.value) is None, entry.name
        assert canary.value == canary.prefix + canary.random or entry.format == "postgresql-url"
        assert canary.name not in repr(canary) or canary.value not in repr(canary)
    by_name = {canary.name: canary for canary in canaries()}
    assert by_name["GITHUB_TOKEN"].prefix == "ghp_" and by_name["GITHUB_TOKEN"].alphabet_size == len(ALNUM)
    assert by_name["AWS_ACCESS_KEY_ID"].alphabet_size == 36 and len(by_name["AWS_ACCESS_KEY_ID"].random) == 16


def test_the_chance_of_an_accidental_match_in_10_mb_is_below_one_in_a_million():
    search = LeakSearch(canaries())
    assert 0 < search.bound < FALSE_ALARM_BOUND
    assert all(min(runs.prefix, runs.suffix, runs.any) >= MIN_RUN for runs in search.runs.values())


def test_a_canary_in_full_a_preview_of_its_start_its_end_or_a_run_is_found():
    search = LeakSearch(canaries())
    github = next(canary for canary in search.canaries if canary.name == "GITHUB_TOKEN")
    runs = search.runs["GITHUB_TOKEN"]
    assert runs.prefix <= 8  # the backend's token_preview: the first 12 characters, `ghp_` and 8 random ones
    assert search.find(json.dumps({"token": github.value})) == [("GITHUB_TOKEN", True)]
    assert search.find(json.dumps({"token_preview": github.value[:12] + "..."})) == [("GITHUB_TOKEN", False)]
    assert search.find("..." + github.random[-runs.suffix:]) == [("GITHUB_TOKEN", False)]
    assert search.find("x" + github.random[5:5 + runs.any] + "x") == [("GITHUB_TOKEN", False)]


def test_a_fixed_prefix_or_a_short_run_is_not():
    search = LeakSearch(canaries())
    claude = next(canary for canary in search.canaries if canary.name == "CLAUDE_API_KEY")
    github = next(canary for canary in search.canaries if canary.name == "GITHUB_TOKEN")
    assert search.find(json.dumps({"key_preview": claude.value[:8] + "..."})) == []  # `sk-ant-` and one character
    assert search.find(github.prefix + github.random[:5]) == []
    assert search.find(github.random[3:3 + MIN_RUN - 1]) == []


def findings_answer():
    """The backend's /api/findings/ answer, as Starlette's JSONResponse renders its findings data."""
    with open(os.path.join(BACKEND_SOURCE, "data", "findings.json")) as stream:
        data = json.load(stream)
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


@pytest.mark.parametrize("rounds", [10_000])
def test_100000_canaries_find_nothing_in_the_backends_findings(rounds):
    body = findings_answer()
    assert len(body) > 800_000 and body.count("finding_id") >= 50  # its 50 findings: hex ids, float embeddings
    answer = Answer(body)
    checked, found = 0, []
    for _ in range(rounds):  # generated as smoke does, without registering 100,000 values with the redaction
        search = LeakSearch([generate(entry.name, shapes(entry.pattern, entry.format == "postgresql-url"),
                                      lambda value, entry=entry: value_problem(entry, value) is None) for entry in SPEC.secrets])
        checked += len(search.canaries)
        found += search.find(answer)
    assert checked >= 100_000 and found == []
