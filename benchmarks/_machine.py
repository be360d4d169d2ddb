"""The machine facts every benchmark writes next to its figures."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["machine_info"]


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        return next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "unknown")
    return platform.processor() or "unknown"


def machine_info(*packages: str, **extra: Any) -> dict[str, Any]:
    """Date, platform, CPU, usable cores, load, Python, fairwatch and the versions of ``packages``."""
    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": sys.version.split()[0],
    }
    for package in ("fairwatch", *packages):
        try:
            info[package.replace("-", "_")] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package.replace("-", "_")] = None
    info.update(extra)
    info["load_average_at_start"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return info
