import pytest

from deeptempo_entrypoint.errors import SpecError
from deeptempo_entrypoint.spec import builtin_spec, load_spec
from deeptempo_entrypoint.spec.builtin import SPEC
from deeptempo_entrypoint.spec.compile import compile_spec_file, compile_spec_text, render_builtin_module
from deeptempo_entrypoint.spec.files import BUILTIN_MODULE, SOURCE_YAML

GUIDE_SECRETS = {"CLAUDE_API_KEY", "ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TIMESKETCH_PASSWORD",
                 "SPLUNK_PASSWORD", "GITHUB_TOKEN", "POSTGRESQL_CONNECTION_STRING"}
ORIGINAL_ENV_EXAMPLE = GUIDE_SECRETS | {"CRIBL_PASSWORD", "CRIBL_WORKER_GROUP", "SECRETS_BACKEND", "ENABLE_KEYRING"}

MINIMAL = """
version: 1
entries:
  - {name: TOKEN, kind: secret, service: Demo, description: A token., rule: required}
"""


def test_builtin_module_is_spec_yaml_after_every_check():
    # The start-up path loads builtin.py; this is what keeps it the checked spec.yaml.
    checked = compile_spec_file(SOURCE_YAML)
    assert SPEC == checked, "run: python -m deeptempo_entrypoint.spec.compile"
    with open(BUILTIN_MODULE, encoding="utf-8") as stream:
        assert stream.read() == render_builtin_module(checked), "run: python -m deeptempo_entrypoint.spec.compile"


def test_spec_lists_every_secret_of_the_guide_and_the_original_env_example():
    assert ORIGINAL_ENV_EXAMPLE <= set(builtin_spec().by_name)


def test_rules_of_the_guide():
    spec = builtin_spec()
    assert {e.name for e in spec.groups["claude"]} == {"CLAUDE_API_KEY", "ANTHROPIC_API_KEY"}
    assert {e.rule for e in spec.groups["claude"]} == {"one_of"}
    assert {e.name for e in spec.groups["s3"]} == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert {e.rule for e in spec.groups["s3"]} == {"all_or_none"}
    assert spec.by_name["CRIBL_WORKER_GROUP"].default == "default"
    assert spec.by_name["POSTGRESQL_CONNECTION_STRING"].format == "postgresql-url"
    assert spec.entry_for("claude_api_key").name == "CLAUDE_API_KEY"
    assert spec.entry_for("anthropic_api_key").name == "ANTHROPIC_API_KEY"


def test_user_spec_from_option_and_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "spec.yaml"
    path.write_text(MINIMAL)
    assert [e.name for e in load_spec(path)] == ["TOKEN"]
    monkeypatch.setenv("DEEPTEMPO_SECRETS_SPEC", str(path))
    assert [e.name for e in load_spec()] == ["TOKEN"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("version: 1\nentries: [", "not valid YAML at line"),
        ("- just\n- a list\n", "(top level): must be of type object"),
        ("version: 2\nentries: []\n", "version: must be 1"),
        (MINIMAL.replace("rule: required", "rule: sometimes"), "entries[0].rule: must be one of required, optional"),
        (MINIMAL.replace("kind: secret", "kind: secret, colour: red"), "'colour' was unexpected"),
        (MINIMAL.replace("rule: required", "rule: one_of"), "entries[0]: 'group' is a required property"),
        (MINIMAL.replace("name: TOKEN", "name: 9TOKEN"), "entries[0].name: must match"),
        (MINIMAL.replace("rule: required", "rule: required, pattern: '(['"), "entries[0].pattern: must be a valid regex"),
        (MINIMAL.replace("rule: required", "rule: required, default: x"), "entries[0]: has a field not allowed"),
        (MINIMAL + "  - {name: TOKEN, kind: secret, service: D, description: d., rule: optional}\n",
         "entries[1]: name TOKEN is already used by entries[0]"),
        (MINIMAL + "  - {name: MODE, kind: setting, service: D, description: d., rule: optional, choices: [a, b], default: c}\n",
         "entries[1].default: must be one of a, b"),
        ("version: 1\nentries:\n"
         "  - {name: A, kind: secret, service: D, description: d., rule: one_of, group: g}\n"
         "  - {name: B, kind: secret, service: D, description: d., rule: all_or_none, group: g}\n",
         "entries[1].rule: group g mixes one_of and all_or_none"),
    ],
)
def test_malformed_spec_names_the_bad_field(text, expected):
    with pytest.raises(SpecError) as caught:
        compile_spec_text(text, origin="my-spec.yaml")
    assert "my-spec.yaml" in str(caught.value)
    assert expected in str(caught.value)


def test_spec_file_problems_name_the_file(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\n\x00\x01")
    with pytest.raises(SpecError, match="line 2 holds a NUL byte"):
        load_spec(binary)


def test_schema_messages_do_not_quote_values():
    secret_looking = "sk-ant-should-not-be-echoed"
    text = MINIMAL.replace("rule: required", f"rule: required, placeholders: [{secret_looking}, {secret_looking}]")
    with pytest.raises(SpecError) as caught:
        compile_spec_text(text, origin="s.yaml")
    assert secret_looking not in str(caught.value)
    assert "must not repeat items" in str(caught.value)


def test_a_users_spec_is_checked_once_per_content(tmp_path, monkeypatch):
    """The second start loads the checked spec from the cache, without YAML or JSON Schema; a changed
    spec is checked again; a cache file others could have written is not trusted."""
    import json as json_module
    import subprocess
    import sys

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nentries:\n  - {name: MY_TOKEN, kind: secret, service: S, description: d., rule: required}\n")
    probe = ("import sys; from deeptempo_entrypoint.spec import load_spec; spec = load_spec(sys.argv[1]); "
             "print(sorted(e.name for e in spec), 'yaml' in sys.modules, 'jsonschema' in sys.modules)")

    def load():
        result = subprocess.run([sys.executable, "-c", probe, str(spec)], capture_output=True, text=True, check=True)
        return result.stdout.strip()

    assert load() == "['MY_TOKEN'] True True"  # checked in full, then cached
    assert load() == "['MY_TOKEN'] False False"  # from the cache
    spec.write_text(spec.read_text().replace("MY_TOKEN", "OTHER_TOKEN"))
    assert load() == "['OTHER_TOKEN'] True True"  # new content, checked again
    (cached,) = [path for path in (tmp_path / "cache" / "deeptempo").glob("spec-*.json") if "OTHER_TOKEN" in path.read_text()]
    cached.write_text(json_module.dumps({"version": 1, "entries": []}))
    cached.chmod(0o644)  # readable by others: not ours alone, so not trusted
    assert load() == "['OTHER_TOKEN'] True True"


@pytest.mark.parametrize("field, value, message", [
    ("description", "Key.\nAPP_MODULE=evil:app", "must be one line"),
    ("placeholders", ["x\nAPP_MODULE=evil:app"], "must be a bare value"),
    ("placeholders", ["x # not a comment"], "must be a bare value"),
    ("service", "S\r", "must be one line"),
])
def test_generated_files_cannot_be_steered_by_the_spec(tmp_path, field, value, message):
    """A description, a service or a placeholder cannot add a line or a comment to env.example."""
    import json as json_module

    from deeptempo_entrypoint.errors import SpecError
    from deeptempo_entrypoint.spec import load_spec

    entry = {"name": "TOKEN", "kind": "secret", "service": "S", "description": "d.", "rule": "optional", field: value}
    spec = tmp_path / "spec.yaml"
    spec.write_text(json_module.dumps({"version": 1, "entries": [entry]}))  # JSON is YAML
    with pytest.raises(SpecError) as refused:
        load_spec(spec)
    assert message in str(refused.value)


def test_required_with_names_another_entry(tmp_path):
    from tests.helpers import write

    entry = "  - {name: DB_PASSWORD, kind: secret, service: S, description: d., rule: required_with%s}\n"
    host = "  - {name: DB_HOST, kind: setting, service: S, description: d., rule: optional}\n"
    spec = load_spec(write(tmp_path / "good.yaml", "version: 1\nentries:\n" + host + entry % ", when_set: DB_HOST"))
    assert [unmet.missing for unmet in spec.unmet({"DB_HOST"})] == [("DB_PASSWORD",)]
    assert list(spec.unmet(set())) == [] and list(spec.unmet({"DB_HOST", "DB_PASSWORD"})) == []
    for when_set, problem in ((", when_set: NO_SUCH", "is not another entry"), (", when_set: DB_PASSWORD", "is not another entry"),
                              ("", "when_set")):
        with pytest.raises(SpecError) as raised:
            load_spec(write(tmp_path / "broken.yaml", "version: 1\nentries:\n" + host + entry % when_set))
        assert problem in " ".join(raised.value.problems)
