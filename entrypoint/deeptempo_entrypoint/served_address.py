"""Where serve really listens, for the health probe (entrypoint/deeptempo_entrypoint/deeptempo-probe): the host and port it
hands to uvicorn, written to ${TMPDIR:-/tmp}/deeptempo-serve/address, so a probe without a URL follows
`serve -- --port 8080` instead of asking the image's default port. Nothing secret; best effort: where
no private directory can be made (a read-only root without /tmp), the probe falls back to $PORT."""

from __future__ import annotations

import os
import stat

DIRECTORY_NAME = "deeptempo-serve"


def address_file() -> str:
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", DIRECTORY_NAME, "address")


def write_served_address(host: str, port: str) -> bool:
    path = address_file()
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        status = os.lstat(directory)
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
            return False  # another user's directory (or a link) in a shared /tmp: not ours to write in
        temporary = f"{path}.{os.getpid()}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(f"{host} {port}\n")
        os.replace(temporary, path)  # a probe reads the old address or the new one, never half of one
    except OSError:
        return False
    return True
