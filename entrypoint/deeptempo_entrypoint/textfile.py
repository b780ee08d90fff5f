"""Strict reading of the small text files the kit trusts: env-files, secret files, specs.

Every refusal names the file (and the line where there is one) and never quotes the content.
"""


from __future__ import annotations

import os
import stat

MAX_BYTES = 1024 * 1024  # a secrets file is small; a 50 MB "env-file" is a mistake


def link_hops(path: str, limit: int = 40) -> list[str]:
    """Where each link on the way from `path` points (absolute, not yet resolved further)."""
    hops: list[str] = []
    while os.path.islink(path) and len(hops) < limit:
        path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
        hops.append(path)
    return hops


def link_escape(path: str) -> str | None:
    """Why a secret file reached through a symbolic link may not be read, or None: a link may lead
    through a Kubernetes volume's `..data` generations, but never out of the volume it sits in (another
    mount, /proc, /dev: `/proc/self/fd/N` would read whatever descriptor the process holds)."""
    if not os.path.islink(path):
        return None
    target = os.path.realpath(path)
    for hop in [*link_hops(path), target]:
        for system in ("/proc", "/dev"):
            if hop == system or hop.startswith(system + "/"):
                return f"is a symbolic link into {system}, which holds no secret file"
    try:
        leaves = os.stat(target).st_dev != os.stat(os.path.dirname(os.path.abspath(path))).st_dev
    except OSError:
        return None  # a link to nothing: reported where it is read
    return "is a symbolic link out of the volume it sits in (another mount)" if leaves else None


def read_text(path: str | os.PathLike[str], *, error: type[Exception], what: str = "file",
              max_bytes: int = MAX_BYTES) -> str:
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


def read_bytes(path: str | os.PathLike[str], *, error: type[Exception], what: str = "file",
               max_bytes: int = MAX_BYTES) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO with no writer, or a device, must not hang the start.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise error(f"{what} {path}: does not exist") from None
    except PermissionError:
        uid = os.getuid()
        raise error(f"{what} {path}: permission denied (the process runs as uid {uid}; make the file readable by "
                    f"it: chown {uid} FILE on the host, keeping it 0600)") from None
    except OSError as exc:
        if os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode):
            raise error(f"{what} {path}: is a socket, not a file") from None
        raise error(f"{what} {path}: cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        _refuse_special(fd, info.st_mode, path, error, what)
        os.set_blocking(fd, True)  # `--env-file <(vault read ...)`: a pipe still being written is waited for
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


def _refuse_special(fd: int, mode: int, path: object, error: type[Exception], what: str) -> None:
    """Regular files and anonymous pipes (process substitution, a shell pipe) are read; anything that
    could block forever or never end is refused by name."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise error(f"{what} {path}: is a directory, not a file")
    if stat.S_ISFIFO(mode):
        if _is_anonymous_pipe(fd):
            return
        raise error(f"{what} {path}: is a named pipe (FIFO), not a regular file; write the content to a file instead")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise error(f"{what} {path}: is a device, not a regular file")
    raise error(f"{what} {path}: is not a regular file")


def _is_anonymous_pipe(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
    except OSError:  # no /proc: a FIFO cannot be told from a pipe, so it is not trusted to end
        return False


def _read_some(fd: int, path: object, error: type[Exception], what: str) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError as exc:
        raise error(f"{what} {path}: cannot be read ({exc.strerror})") from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def strip_one_newline(text: str) -> str:
    """Secret files end with the newline editors add; only that one is not part of the value."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text
