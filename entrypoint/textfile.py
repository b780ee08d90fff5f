"""Strict reading of the small text files the kit trusts: env-files, secret files, specs.

Every refusal names the file (and the line where there is one) and never quotes the content.
"""

import os
import stat

MAX_BYTES = 1024 * 1024  # a secrets file is small; a 50 MB "env-file" is a mistake


def read_text(path, *, error, what="file", max_bytes=MAX_BYTES):
    """Return the file's text (UTF-8, BOM removed, line ends kept) or raise `error` naming it."""
    data = read_bytes(path, error=error, what=what, max_bytes=max_bytes)
    nul = data.find(b"\0")
    if nul >= 0:
        raise error(f"{what} {path}: line {_line_of(data, nul)} holds a NUL byte (binary content?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path}: line {_line_of(data, exc.start)} is not valid UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_bytes(path, *, error, what="file", max_bytes=MAX_BYTES):
    try:
        fd = os.open(path, os.O_RDONLY)  # blocking: `--env-file <(vault read ...)` is a pipe still being written
    except FileNotFoundError:
        raise error(f"{what} {path}: does not exist") from None
    except PermissionError:
        raise error(f"{what} {path}: permission denied (the process runs as uid {os.getuid()})") from None
    except OSError as exc:
        raise error(f"{what} {path}: cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{what} {path}: is a directory, not a file")
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
            raise error(f"{what} {path}: is not a regular file")
        if info.st_size > max_bytes:
            raise error(f"{what} {path}: is {info.st_size} bytes, more than the {max_bytes} allowed")
        chunks, size = [], 0
        while chunk := _read_some(fd, path, error, what):
            size += len(chunk)
            if size > max_bytes:
                raise error(f"{what} {path}: is more than the {max_bytes} bytes allowed")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_some(fd, path, error, what):
    try:
        return os.read(fd, 65536)
    except OSError as exc:
        raise error(f"{what} {path}: cannot be read ({exc.strerror})") from None


def _line_of(data, offset):
    return data.count(b"\n", 0, offset) + 1


def strip_one_newline(text):
    """Secret files end with the newline editors add; only that one is not part of the value."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text
