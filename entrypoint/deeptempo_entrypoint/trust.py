"""Whether a file that can set the service's secrets or settings (an env-file, a spec, the spec cache) may
be trusted, as sshd's StrictModes decides it: nobody but root and the process's own user can write it,
nor replace it through a directory it sits in. A file on a read-only mount (a host file bind-mounted
`:ro`, a Kubernetes Secret volume) cannot be changed from inside, whoever owns it; a directory with the
sticky bit (/tmp) lets others write in it but not replace what is not theirs."""

import os
import stat


def untrusted_writer(path: str) -> str | None:
    """Who else can change `path`, in words naming the file or directory (None: nobody)."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return None
    except OSError:
        return None  # it cannot be read either: its reader says so
    trusted = {0, os.geteuid()}
    # The file itself (through any link), and every directory on the way to it: the link's as well.
    chain = _self_and_parents(os.path.realpath(path))
    chain += [parent for parent in _self_and_parents(os.path.abspath(path))[1:] if parent not in chain]
    for index, current in enumerate(chain):
        try:
            info = os.stat(current)
        except OSError:
            return None
        what = "it" if index == 0 else f"its directory {current}"
        if info.st_uid not in trusted:
            return f"{what} is owned by uid {info.st_uid}"
        sticky = index > 0 and info.st_mode & stat.S_ISVTX
        if info.st_mode & stat.S_IWOTH and not sticky:
            return f"anyone can write {what} (mode {stat.S_IMODE(info.st_mode):04o})"
        if info.st_mode & stat.S_IWGRP and not sticky:  # group root too: StrictModes exempts no group
            return f"group {info.st_gid} can write {what} (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def _self_and_parents(path: str) -> list[str]:
    chain = [path]
    while (parent := os.path.dirname(chain[-1])) != chain[-1]:
        chain.append(parent)
    return chain


FIX = ("make it and its directories owned by root or the service's user and writable by no one else (chown, then "
       "chmod go-w), or mount it read-only")


def make_private_dirs(path: str) -> None:
    """`os.makedirs(path)`, every directory it creates 0700 whatever the umask (makedirs gives the
    parents it creates 0777 less the umask: 0777 under umask 000)."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)  # mkdir's mode is masked by the umask too
