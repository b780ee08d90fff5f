"""The env-file reader relies on python-dotenv's parser module (`dotenv.parser.parse_stream` and its
Binding/Original records), which is not python-dotenv's documented API. pyproject.toml caps the
version; this test fails loudly, naming what changed, when a release moves any of it."""

import io

import dotenv.parser


def test_parse_stream_yields_bindings_with_key_value_original_and_error():
    bindings = list(dotenv.parser.parse_stream(io.StringIO('\nA=1\nexport B="two words"\nnot a line\n')))
    fields = {"key", "value", "original", "error"}
    assert all(fields <= set(binding._fields) for binding in bindings), "dotenv.parser.Binding lost a field"
    assert all({"string", "line"} <= set(binding.original._fields) for binding in bindings), "Original changed"
    parsed = [(b.key, b.value, b.error, b.original.line) for b in bindings]
    assert ("A", "1", False, 1) in parsed  # line counts from the blank line before it
    assert ("B", "two words", False, 3) in parsed
    assert any(error for _, _, error, _ in parsed), "an unparseable line must come back as an error binding"
