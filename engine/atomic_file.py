"""Replacing a small file whole: written next to its place, then renamed over it, so a reader or
a crash sees the old content or the new one, never half of it (rename is atomic on POSIX)."""

from __future__ import annotations

import os
from pathlib import Path


def replace_file(path: Path | str, data: str | bytes, *, private: bool = False) -> Path:
    """Write `data` (text as UTF-8) to `path` through a temporary file beside it. `private`:
    readable and writable by the owner only, from its creation on (a secret is never briefly
    world-readable)."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    mode = 0o600 if private else 0o666  # 0o666: the umask decides, as for any new file
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(payload)
    temporary.replace(path)
    return path
