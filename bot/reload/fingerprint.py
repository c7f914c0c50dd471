"""What identifies one version of the schedule file, so that it is loaded (and reported) once."""

from __future__ import annotations

import hashlib
from pathlib import Path

# (mtime in ns, size, sha-256 of the content); None: the file cannot be read.
Fingerprint = tuple[int, int, str] | None


def fingerprint(path: Path) -> Fingerprint:
    """What identifies one version of the file; None when it is missing or unreadable."""
    try:
        stat = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, digest)
