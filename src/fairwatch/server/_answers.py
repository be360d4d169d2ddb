"""Window answers already computed, reused while the cells behind them are unchanged.

A dashboard or a rule pass asks for the same 30 days of hourly windows again and again while only the
newest windows (and those a late outcome lands in) change. Every read still fetches every window's
cells from the roll-ups (a few milliseconds); a window whose cells are byte for byte those of an
earlier answer to the same question gets that answer's JSON back, and only the others are computed.
A window's answer depends on nothing but its own cells, the read's groups and its options, so the
reused answer is the one a computation would give: the cache changes the cost of a read, never its
result, and is safe with several replicas writing the same store (it compares what the store holds
now, not what this process wrote).

The cache is bounded in bytes (``FAIRWATCH_READ_CACHE_BYTES``, default 64 MiB; 0 turns it off) and
drops the least recently read questions first. Cells are compared through a 128-bit BLAKE2b digest of
their bytes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_json

from fairwatch.monitor._windows import WindowRead, WindowResult

__all__ = ["AnswerCache", "Answers", "with_windows"]

Window = tuple[datetime, datetime]
#: Per window of a question: the digest of its cells and its answer as JSON.
Entry = dict[Window, tuple[bytes, bytes]]
_OVERHEAD = 200  # bytes of bookkeeping per cached window (dict slot, tuple, key)


@dataclass
class Answers:
    """The JSON answer of every window of a read, in order."""

    json: list[bytes]
    #: The result of the latest window with predictions (always computed), None when none has any.
    latest: WindowResult | None
    #: How many windows' answers were reused and how many computed.
    reused: int
    computed: int


#: Called after every read with the windows reused, the windows computed and the bytes now kept.
Record = Callable[[int, int, int], None]


class AnswerCache:
    """JSON answers of windows per question, bounded by ``max_bytes`` (0: nothing is kept and no
    cells are hashed); ``record`` hears of every read (the service's ``/metrics`` counters)."""

    def __init__(self, max_bytes: int, record: Record | None = None) -> None:
        self.max_bytes = max_bytes
        self._record = record
        self._entries: OrderedDict[Hashable, tuple[Entry, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes held now."""
        return self._size

    def answers(
        self,
        question: Hashable,
        plan: WindowRead,
        encode: Callable[[WindowResult], bytes],
    ) -> Answers:
        """The JSON answer of every window of ``plan``, computed for the windows whose cells are not
        those of a kept answer to ``question`` and for the latest window with predictions (its result
        feeds the gauges).

        ``question`` names everything but the cells an answer depends on (model, version, attributes,
        metrics, options, groups); ``encode`` turns a result into its JSON.
        """
        counts = plan.cells.n.sum(axis=-1)
        latest = next((i for i in range(plan.count - 1, -1, -1) if counts[i] > 0), None)
        if self.max_bytes <= 0:
            results = plan.results()
            return self._answered(
                Answers([encode(r) for r in results], results[latest] if latest is not None else None, 0, plan.count)
            )
        windows = [plan.window(i) for i in range(plan.count)]
        digests = [hashlib.blake2b(cells, digest_size=16).digest() for cells in plan.fingerprints()]
        with self._lock:
            found = self._entries.get(question)
            if found is not None:
                self._entries.move_to_end(question)
        known = found[0] if found is not None else {}
        todo = [
            i
            for i, (window, digest) in enumerate(zip(windows, digests))
            if i == latest or window not in known or known[window][0] != digest
        ]
        computed = dict(zip(todo, plan.results(todo))) if todo else {}
        out: list[bytes] = []
        entry: Entry = {}
        for i, (window, digest) in enumerate(zip(windows, digests)):
            result = computed.get(i)
            answer = encode(result) if result is not None else known[window][1]
            out.append(answer)
            entry[window] = (digest, answer)
        self._keep(question, entry)
        latest_result = computed[latest] if latest is not None else None
        return self._answered(Answers(out, latest_result, plan.count - len(todo), len(todo)))

    def _answered(self, answers: Answers) -> Answers:
        if self._record is not None:
            self._record(answers.reused, answers.computed, self._size)
        return answers

    def _keep(self, question: Hashable, entry: Entry) -> None:
        size = sum(len(answer) + len(digest) + _OVERHEAD for digest, answer in entry.values())
        with self._lock:
            old = self._entries.pop(question, None)
            if old is not None:
                self._size -= old[1]
            if size > self.max_bytes:
                return
            self._entries[question] = (entry, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= dropped


def with_windows(head: dict[str, Any], windows: list[bytes]) -> bytes:
    """The JSON object ``head`` with a last member ``"windows"``: the windows' JSON answers, spliced
    in as they are."""
    opening = to_json({**head, "windows": []})
    if not opening.endswith(b"[]}"):  # pragma: no cover - the member added last is written last
        raise AssertionError("the windows member must close the object")
    return b"".join((opening[:-2], b",".join(windows), b"]}"))
