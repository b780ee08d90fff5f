"""Whatever a user's editor, platform or accident produces, the parsers answer with a value or one
ConfigError naming the file: never another exception (a traceback), never a quoted value."""

from hypothesis import given, settings
from hypothesis import strategies as st

from deeptempo_entrypoint.envfile.reader import parse_env_text, read_env_file
from deeptempo_entrypoint.errors import EnvFileError, SpecError
from deeptempo_entrypoint.spec.compile import compile_spec_text

ENV_LIKE = st.lists(st.one_of(
    st.from_regex(r"(export )?[A-Za-z_][A-Za-z0-9_]{0,8} ?= ?['\"]?[^\n]{0,20}['\"]?( #[^\n]*)?", fullmatch=True),
    st.text(max_size=30),
    st.sampled_from(["", "#", "=", "'", '"', "\\", "\r", "\ufeff", "export", "A", "A=", "A='", 'A="\\"', "A=\\\n"]),
), max_size=12).map("\n".join)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_an_env_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "any.env"
    path.write_bytes(data)
    try:
        env_file = read_env_file(path)
    except EnvFileError as exc:
        assert str(exc).startswith(f"env-file {path}: ")
    else:
        assert all(isinstance(key, str) and isinstance(value, str) for key, value in env_file.values.items())


@settings(max_examples=400, deadline=None)
@given(ENV_LIKE)
def test_env_like_text_never_escapes_as_another_exception(text):
    secret_marker = "Zq9SECRETMARKER"
    text = text.replace("=", "=" + secret_marker, 1)
    try:
        env_file = parse_env_text(text, "fuzz.env")
    except EnvFileError as exc:
        assert secret_marker not in str(exc)
    else:
        assert all(secret_marker not in message for _, message in env_file.warnings)


YAML_LIKE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
              st.sampled_from(["secret", "setting", "required", "one_of", "all_or_none", "optional", "g", "postgresql-url"])),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(["version", "entries", "name", "kind", "service", "description",
                                                                "rule", "group", "aliases", "pattern", "format", "choices",
                                                                "default", "placeholders", "extra"]), children, max_size=6)),
    max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(YAML_LIKE)
def test_any_yaml_document_as_a_spec(document):
    import yaml

    try:
        compile_spec_text(yaml.safe_dump(document), origin="fuzz.yaml")
    except SpecError as exc:
        assert str(exc).startswith("spec fuzz.yaml: ")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_a_spec(text):
    try:
        compile_spec_text(text, origin="fuzz.yaml")
    except SpecError as exc:
        assert str(exc).startswith("spec fuzz.yaml: ")
