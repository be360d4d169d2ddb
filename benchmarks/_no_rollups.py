"""The service with roll-up maintenance switched off: the ingest benchmark's "without roll-ups" contender.

Everything else is the real service (validation, idempotency, dictionary, all-or-nothing batches);
only the roll-up deltas are not written, so the difference measures what roll-ups cost at ingest.
For benchmarks only: a store written this way has no statistics to read.
"""

from __future__ import annotations

from typing import Any

from fairwatch.monitor import _ingest


def _skip(tx: Any, deltas: Any) -> None:
    return None


def create_app() -> Any:
    from fairwatch.server import create_app as real

    _ingest.apply_deltas = _skip  # type: ignore[assignment]
    return real()
