"""The redaction boundary by shape and by relay: any part of a text with a secret's shape (a secret's
format wherever it sits, a URL with a password) is masked whether or not the command has seen it, and a
tool's relayed line loses whatever it quotes, balanced or not, and every token that looks like a value.
Property-based over the shapes tools print lines in: unbalanced, nested and escaped quotes."""

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deeptempo_deploy.redaction import ELIDED, MASK, Redactor, may_echo, relayed_line
from deeptempo_entrypoint.echo import safe_to_echo
from deeptempo_entrypoint.spec import builtin_spec
from deeptempo_entrypoint.spec.model import Spec

SPEC = builtin_spec()
KEY = "sk-ant-api03-BOUNDARYcanary0123456789"
# A value of each secret format of the built-in spec, and a URL with a password.
SHAPED = [KEY, "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ghp_BOUNDARYgithub0123456789",
          "postgresql://soc:S3cretPassw0rd@db:5432/soc", "https://user:t0ken-value@git.example.com/repo.git"]


# --- shapes: the one answer to "may this be shown?" ---------------------------------------------------

@pytest.mark.parametrize("value", SHAPED)
@pytest.mark.parametrize("around", ["{}", "Bearer {}", '{{"key": "{}"}}', "arn:aws:secretsmanager:us-east-1:111122223333:secret:team/{}",
                                    "--token={}", "x {} y"])
def test_a_secret_shape_is_found_wherever_it_sits(value, around):
    text = around.format(value)
    assert SPEC.secret_spans(text), text
    assert value not in Redactor().mask(text) and MASK in Redactor().mask(text)
    assert not safe_to_echo(text, limit=500) and not may_echo(text)


@pytest.mark.parametrize("text", [
    "sha256:" + "a1" * 32,  # a digest: a 40-character format is not found inside a longer token
    "/home/user/projects/deeptempo/k8s/overlay/x",  # path segments adding up to 40 characters
    "http://127.0.0.1:6987/api/health", "postgresql://user:$(POSTGRES_PASSWORD)@db/x", "postgresql://u:${P}@db/x",
    "sk-ant-...", "the default namespace", "checksum/secret", "deeptempo-secrets-5h8g7k2b9t", "info",
])
def test_what_has_no_secret_shape_is_shown_as_it_is(text):
    assert SPEC.secret_spans(text) == [] and Redactor().mask(text) == text


def test_the_spec_the_command_was_given_adds_its_own_shapes():
    own = Spec({"entries": [{"name": "ACME_TOKEN", "kind": "secret", "service": "x", "description": "d.", "rule": "optional",
                             "pattern": "acme_[a-z0-9]{12}"}]}, origin="test")
    text = "configured acme_abcdef012345 here"
    assert Redactor().mask(text) == text
    assert "acme_abcdef012345" not in Redactor().mask(text, own)
    assert KEY not in Redactor().mask(f"x {KEY}", own)  # the built-in shapes still count


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60), st.sampled_from(SHAPED),
       st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
@settings(max_examples=300, deadline=None)
def test_no_shaped_value_survives_the_boundary_whatever_surrounds_it(before, value, after):
    masked = Redactor().mask(f"{before} {value} {after}")
    assert value not in masked


# --- relayed lines: what a tool quotes never passes -------------------------------------------------------

QUOTES = ['"', "'", "`"]
secret_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.%$ ", min_size=12, max_size=60) \
    .filter(lambda text: text.strip() and text == text.strip())
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz :./-,()[]0123456789", max_size=40)


SEPARATORS = st.sampled_from([" ", ": ", "=", "(", ", "])  # what tools put beside a quote


@given(words, SEPARATORS, st.sampled_from(QUOTES), secret_text, st.booleans(), SEPARATORS, words)
@settings(max_examples=500, deadline=None)
def test_a_relayed_line_loses_what_it_quotes_balanced_or_not(before, separator, quote, secret, closed, closing, rest):
    """Compose's `unterminated quoted value "...`, kustomize's `invalid key "..."`, helm's `'...'`: the
    quoted part (to the end of the line when it is never closed) becomes «…», and nothing else changes
    but what looks like a value."""
    after = closing + rest
    assume(secret not in before + after)
    head = before + separator
    line = f"{head}{quote}{secret}{quote + after if closed else ''}"
    expected = relayed_line(head) + ELIDED + (relayed_line(after) if closed else "")
    assert relayed_line(line) == expected and secret not in expected


@given(words, st.permutations(QUOTES), secret_text, words)
@settings(max_examples=300, deadline=None)
def test_nested_and_escaped_quotes_take_their_content_with_them(before, quotes, secret, after):
    assume(secret not in before + after)
    outer, inner, _ = quotes
    before += ": "  # a quote opens after a separator (between letters, ' is an apostrophe)
    for line in (f"{before}{outer}a {inner}{secret}{inner} b{outer} {after}",  # nested
                 f"{before}{outer}a {inner}{secret}{outer} {after}",  # an inner quote left open
                 f'{before}"a \\"{secret}\\" b" {after}',  # escaped quotes inside
                 f"{before}{outer}{secret}"):  # unterminated to the end
        assert secret not in relayed_line(line), line


def test_words_outside_quotes_stay_readable():
    assert relayed_line("failed to read /etc/x.env: line 2: unterminated quoted value") == \
        "failed to read /etc/x.env: line 2: unterminated quoted value"
    assert relayed_line("can't set healthcheck.start_interval: it's Docker 25's") == \
        "can't set healthcheck.start_interval: it's Docker 25's"  # apostrophes are no quotes
    assert relayed_line(f'line 2: unterminated quoted value "{KEY}') == "line 2: unterminated quoted value «…»"


@pytest.mark.parametrize("token", ["Zq3mXv9LkP2wRt8YbN4cHs6D", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4", "AbCdEf0123456789+abcdEFGH=="])
def test_a_token_that_looks_like_a_value_is_not_relayed(token):
    assert token not in relayed_line(f"error: invalid key {token} in secrets.env")


def test_a_json_document_is_masked_string_by_string_and_stays_json():
    from deeptempo_deploy.redaction import mask_document

    document = {"message": f"valueFrom arn:aws:secretsmanager:us-east-1:111122223333:secret:{KEY}",
                "sources": {"CLAUDE_API_KEY": f"secrets arn:...:secret:{KEY}"}, KEY: ["Bearer " + KEY]}
    text = json.dumps(mask_document(document))
    assert KEY not in text and json.loads(text)
