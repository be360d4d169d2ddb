"""Atomic file writes and the digests printed in report footers."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fairwatch.exceptions import InvalidInputError
from fairwatch.metrics import GroupStats

__all__ = ["file_digest", "stats_digest", "write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str, *, option: str = "path") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory and ``os.replace``.

    A reader never sees a half-written report, and a failure leaves no file behind. ``option`` names
    the argument in the error message (``--output`` for the CLI).
    """
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        raise InvalidInputError(
            f"cannot write {option} {str(target)!r}: directory {str(directory)!r} does not exist; create it first"
        )
    if target.is_dir():
        raise InvalidInputError(f"cannot write {option} {str(target)!r}: it is a directory; give a file name")
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp_name, _file_mode(target))
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write {option} {str(target)!r}: {exc.strerror or exc}; choose a writable location"
        ) from None
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
    return target


def _file_mode(target: Path) -> int:
    """The mode a plain ``open(target, "w")`` would give (mkstemp creates files private)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where the system says it (Linux): setting it
    to read it would, for that instant, change the mode of files other threads create."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def stats_digest(stats: GroupStats) -> str:
    """SHA-256 of the canonical JSON of the statistics a report was computed from."""
    text = json.dumps(stats.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(paths: Iterable[str | os.PathLike[str]]) -> str:
    """SHA-256 over the bytes of the given files, in order (remote URLs hash their name only)."""
    digest = hashlib.sha256()
    for path in paths:
        text = str(path)
        digest.update(text.encode("utf-8") if "://" in text else b"")
        if "://" in text:
            continue
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()
