import multiprocessing
import os
import re
import stat

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deeptempo_entrypoint.envfile import writer as writer_module
from deeptempo_entrypoint.envfile.reader import read_env_file
from deeptempo_entrypoint.envfile.writer import encode_value, update_env_file
from deeptempo_entrypoint.errors import EnvFileError
from tests.helpers import as_nobody, write

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
# Anything a process environment can hold: valid Unicode text without NUL.
VALUES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=60)
TRAILING_BACKSLASH_NEEDS_QUOTES = re.compile(r"[\r\n]|^\s|\s$|\s#|^['\"]")


def representable(value):
    """python-dotenv reads a quoted value's final backslash as escaping the closing quote."""
    return not (value.endswith("\\") and TRAILING_BACKSLASH_NEEDS_QUOTES.search(value))


# --- reading -------------------------------------------------------------------------------------

def test_reads_what_editors_and_platforms_produce(tmp_path):
    path = write(tmp_path / ".env", "\ufeffexport A=1\r\nB='two words'\r\nC=\"x\\ny\"\r\n# comment\r\nD=plain # note\r\n")
    env_file = read_env_file(path)
    assert env_file.values == {"A": "1", "B": "two words", "C": "x\ny", "D": "plain"}
    assert env_file.warnings == []


def test_duplicate_key_later_wins_with_a_warning_naming_it(tmp_path):
    env_file = read_env_file(write(tmp_path / ".env", "A=first\n\nB=x\nA=second\n"))
    assert env_file.values["A"] == "second"
    assert env_file.warnings == [("A", "is set twice (lines 1 and 4); line 4 wins")]
    assert "first" not in str(env_file.warnings) and "second" not in str(env_file.warnings)


def test_a_line_without_equals_is_ignored_without_being_echoed(tmp_path):
    env_file = read_env_file(write(tmp_path / ".env", "A=1\nsk_ant_pasted_alone\n"))
    assert env_file.values == {"A": "1"}
    assert env_file.warnings == [(None, "line 2 has no '=' and is ignored")]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"A=1\nB=\xff\xfe\n", "line 2 is not valid UTF-8"),
        (b"A=1\nB=2\nC=\x00\n", "line 3 holds a NUL byte"),
        (b"\x7fELF\x02\x01\x01\x00\x00", "line 1 holds a NUL byte"),
        (b"A=1\n\nB=\"unterminated\n", "line 3 is not a NAME=value line"),
        (b"A=1\n9LIVES=cat\n", "line 2 does not start with a valid variable name"),
    ],
)
def test_content_that_cannot_be_right_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.env"
    path.write_bytes(content)
    with pytest.raises(EnvFileError) as caught:
        read_env_file(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "cat" not in str(caught.value) and "unterminated" not in str(caught.value)


def test_files_that_cannot_be_read(tmp_path, shared_tmp):
    with pytest.raises(EnvFileError, match="does not exist"):
        read_env_file(tmp_path / "missing.env")
    with pytest.raises(EnvFileError, match="is a directory"):
        read_env_file(tmp_path)
    big = tmp_path / "big.env"
    with open(big, "wb") as stream:
        stream.truncate(50 * 1024 * 1024)
    with pytest.raises(EnvFileError, match="more than the 1048576 allowed"):
        read_env_file(big)
    locked = write(os.path.join(shared_tmp, "locked.env"), "A=1\n", mode=0o000)
    assert as_nobody(read_env_file, locked) == (f"env-file {locked}: permission denied (the process runs as uid 65534; "
                                                        "make the file readable by it: chown 65534 FILE on the host, keeping it 0600)")


# --- writing -------------------------------------------------------------------------------------

@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(values=st.dictionaries(NAMES, VALUES, min_size=1, max_size=5))
def test_every_value_round_trips_through_python_dotenv(tmp_path, values):
    assume(all(representable(value) for value in values.values()))
    path = tmp_path / "round-trip.env"
    if path.exists():
        path.unlink()
    update_env_file(path, values)
    assert read_env_file(path).values == values
    assert dict(dotenv_values(path, interpolate=False)) == values


@pytest.mark.parametrize("value", ['a"b', "a\\b", "a#b", "a #b", "x=y=z", "  spaced  ", "multi\nline\r\nvalue", "ünï€ødé ✓",
                                   "'quoted'", '"dq"', "${NOT_EXPANDED}", "ends with backslash\\", "\\", "", "a\tb"])
def test_tricky_values_round_trip(tmp_path, value):
    path = tmp_path / ".env"
    update_env_file(path, {"K": value})
    assert read_env_file(path).values == {"K": value}
    assert dotenv_values(path, interpolate=False) == {"K": value}


def test_simple_values_are_written_bare_for_docker_compatibility(tmp_path):
    path = tmp_path / ".env"
    update_env_file(path, {"CLAUDE_API_KEY": "sk-ant-abc", "PASSWORD": 'p"w'})
    assert path.read_text() == 'CLAUDE_API_KEY=sk-ant-abc\nPASSWORD=p"w\n'


def test_unrepresentable_value_is_refused_by_name_and_nothing_is_written(tmp_path):
    path = write(tmp_path / ".env", "A=1\n")
    with pytest.raises(ValueError) as caught:
        update_env_file(path, {"B": "two\nrows\\"})
    assert str(caught.value).startswith("B:") and "rows" not in str(caught.value)
    assert path.read_text() == "A=1\n"
    assert encode_value("C", "bare\\") == "bare\\"


@pytest.mark.parametrize("name, value", [("1BAD", "x"), ("has space", "x"), ("OK", "nul\0byte"), ("OK", "\ud800")])
def test_invalid_names_and_values_are_refused(tmp_path, name, value):
    with pytest.raises(ValueError) as caught:
        update_env_file(tmp_path / ".env", {name: value})
    assert value not in str(caught.value)
    assert not (tmp_path / ".env").exists()


def test_keeps_comments_order_and_lines_it_does_not_own(tmp_path):
    original = "# DeepTempo secrets\nexport A=1\n\n# the Splunk one\nSPLUNK_PASSWORD=old\nOTHER='kept as is'\nSPLUNK_PASSWORD=older-duplicate\n"
    path = write(tmp_path / ".env", original)
    update_env_file(path, {"SPLUNK_PASSWORD": "new", "ADDED": "yes"})
    assert path.read_text() == "# DeepTempo secrets\nexport A=1\n\n# the Splunk one\nSPLUNK_PASSWORD=new\nOTHER='kept as is'\nADDED=yes\n"
    update_env_file(path, {"SPLUNK_PASSWORD": None})
    assert "SPLUNK_PASSWORD" not in path.read_text() and "# the Splunk one" in path.read_text()


def test_crlf_files_stay_crlf(tmp_path):
    path = write(tmp_path / ".env", "A=1\r\nB=2\r\n")
    update_env_file(path, {"B": "3", "C": "4"})
    assert path.read_bytes() == b"A=1\r\nB=3\r\nC=4\r\n"


def test_refuses_to_rewrite_a_file_it_cannot_parse(tmp_path):
    path = tmp_path / ".env"
    path.write_bytes(b"A=1\nB=\xff\n")
    with pytest.raises(EnvFileError, match="line 2 is not valid UTF-8"):
        update_env_file(path, {"C": "3"})
    assert path.read_bytes() == b"A=1\nB=\xff\n"


def test_file_is_0600_from_its_first_byte_and_replaced_atomically(tmp_path, monkeypatch):
    created = []
    real_open = os.open

    def recording_open(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created.append((os.fspath(path), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(writer_module.os, "open", recording_open)
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        path = tmp_path / "state" / ".env"
        update_env_file(path, {"A": "1"})
        first_inode = os.stat(path).st_ino
        update_env_file(path, {"A": "2"})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    data_files = [entry for entry in created if entry[0].endswith(".tmp")]
    assert len(data_files) == 2
    assert all(flags & os.O_EXCL and mode == 0o600 for _, flags, mode in data_files)
    assert all(mode == 0o600 for _, _, mode in created)
    assert os.stat(path).st_ino != first_inode, "the file must be replaced by rename, not rewritten in place"
    assert sorted(os.listdir(path.parent)) == [".env", ".env.lock"]


def _write_many(path, worker, count):
    for index in range(count):
        update_env_file(path, {f"WORKER_{worker}_KEY_{index}": f"value {worker}/{index}"})


def test_concurrent_writers_lose_no_update(tmp_path):
    path = tmp_path / ".env"
    workers, per_worker = 6, 25
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_write_many, args=(path, worker, per_worker)) for worker in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    values = read_env_file(path).values
    assert len(values) == workers * per_worker
    assert values["WORKER_3_KEY_7"] == "value 3/7"
