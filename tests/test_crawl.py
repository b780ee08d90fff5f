"""smoke's leak search (deploy/deeptempo_deploy/crawl.py): a canary in full, or LEAK_RUN characters of its
random part, is a leak named by route and secret; the fixed prefix alone, or five characters, is not."""

from deeptempo_deploy.crawl import Answer, find_leaks

CANARIES = {"GITHUB_TOKEN": ("ghp_ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOP"), "CLAUDE_API_KEY": ("sk-ant-0123456789abcdef", "0123456789abcdef")}


def answer(body, path="/api/x"):
    return Answer("GET", path, 200, body)


def test_a_canary_in_full_or_a_run_of_its_random_part_is_a_leak():
    leaks = find_leaks([answer('{"token": "ghp_ABCDEFGHIJKLMNOP"}'), answer('{"preview": "ghp_ABCDEFGH"}', "/api/preview")], CANARIES, 6)
    assert leaks == ["GET /api/x (200) answers GITHUB_TOKEN in full",
                     "GET /api/preview (200) answers part of GITHUB_TOKEN (6 or more characters of its value)"]
    assert "ABCDEFGH" not in " ".join(leaks)


def test_a_fixed_prefix_or_a_short_run_is_not():
    assert find_leaks([answer('{"key_preview": "sk-ant-0"}'), answer('{"p": "ghp_ABCDE"}'), answer("EFGHI 6789a")], CANARIES, 6) == []
