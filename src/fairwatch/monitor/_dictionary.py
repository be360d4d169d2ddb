"""The store's dictionary: model versions, groups, labels, features and categories, each with an id.

Roll-up rows refer to these ids instead of carrying texts, and sensitive attributes are data here,
not table columns: a new attribute name adds rows, never a column. Ids are hashes
(:func:`~fairwatch.monitor._rollup.dictionary_id`), so a process knows the id of an entry before the
database does; an entry is written the first time a batch needs it, in the batch's transaction.

The :class:`Limits` are checked here when a batch brings entries a model did not have.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from fairwatch.exceptions import StoreError
from fairwatch.monitor._rollup import OTHER_CATEGORY, Limits, dictionary_id, over_limit, parse_group_key

__all__ = ["KINDS", "Dictionary", "Entry", "ModelEntries", "StaleDictionaryError"]


class StaleDictionaryError(StoreError):
    """Another process stored a different choice (a feature's bin width) first: read the dictionary
    again and redo the batch."""


#: Entry kinds: a model version (series), a group, a label, a feature (per value kind), a category, and
#: the bin width of a numeric feature (the first writer's choice holds).
KINDS = {"s": "series", "g": "group", "l": "label", "f": "feature", "c": "category", "w": "width"}


class Entry(NamedTuple):
    kind: str
    model: str
    name: str
    value: str

    @property
    def id(self) -> int:
        # a feature has one bin width: its id does not depend on the width chosen
        return dictionary_id(self.kind, self.model, self.name, "" if self.kind == "w" else self.value)


@dataclass
class ModelEntries:
    """The entries of one model, indexed for the reads and for the limits."""

    series: dict[int, str] = field(default_factory=dict)  # id -> model version ('' for none)
    groups: dict[int, dict[str, str]] = field(default_factory=dict)  # id -> attribute values
    labels: dict[int, str] = field(default_factory=dict)
    features: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (name, 'number' | 'category')
    categories: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (feature, value)
    widths: dict[str, str] = field(default_factory=dict)  # feature -> its bin width ("2e3")
    attribute_values: dict[str, set[str]] = field(default_factory=dict)
    category_count: dict[str, int] = field(default_factory=dict)

    def add(self, entry: Entry, entry_id: int) -> None:
        kind = entry.kind
        if kind == "s":
            self.series[entry_id] = entry.value
        elif kind == "g":
            values = parse_group_key(entry.value)
            self.groups[entry_id] = values
            for name, value in values.items():
                self.attribute_values.setdefault(name, set()).add(value)
        elif kind == "l":
            self.labels[entry_id] = entry.value
        elif kind == "f":
            self.features[entry_id] = (entry.name, entry.value)
        elif kind == "w":
            self.widths[entry.name] = entry.value
        elif kind == "c" and entry_id not in self.categories:
            self.categories[entry_id] = (entry.name, entry.value)
            if entry.value != OTHER_CATEGORY:
                self.category_count[entry.name] = self.category_count.get(entry.name, 0) + 1

    @property
    def attributes(self) -> list[str]:
        return sorted(self.attribute_values)

    def feature_names(self) -> list[str]:
        return sorted({name for name, _ in self.features.values()})


class Dictionary:
    """Entries known to this process, per model, loaded from the store on first use."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._models: dict[str, ModelEntries] = {}
        self._ids: dict[int, Entry] = {}
        self._lock = threading.Lock()

    def loaded(self, model: str) -> bool:
        return model in self._models

    def model(self, model: str) -> ModelEntries:
        return self._models.get(model) or ModelEntries()

    def forget(self, model: str | None = None) -> None:
        """Drop cached entries (of one model, or all), so they are read again from the store."""
        with self._lock:
            if model is None:
                self._models.clear()
                self._ids.clear()
            else:
                self._models.pop(model, None)
                self._ids = {i: e for i, e in self._ids.items() if e.model != model}

    def load(self, model: str, rows: Iterable[tuple[int, str, str, str, str]]) -> None:
        """Replace what is known of ``model`` with the store's rows ``(id, kind, model, name, value)``."""
        entries = ModelEntries()
        found: dict[int, Entry] = {}
        for entry_id, kind, row_model, name, value in rows:
            entry = Entry(kind, row_model, name, value)
            entries.add(entry, int(entry_id))
            found[int(entry_id)] = entry
        with self._lock:
            self._models[model] = entries
            self._ids.update(found)

    def missing(self, entries: Iterable[Entry]) -> dict[int, Entry]:
        """The entries (by id) this process does not know yet."""
        out: dict[int, Entry] = {}
        for entry in entries:
            entry_id = entry.id
            known = self._ids.get(entry_id)
            if known is None:
                out[entry_id] = entry
            elif known != entry:
                raise StoreError(
                    f"dictionary id {entry_id} names both {known} and {entry}; this is a hash collision, "
                    f"report it to the fairwatch developers"
                )
        return out

    def check_limits(self, new: dict[int, Entry]) -> None:
        """Raise :class:`~fairwatch.exceptions.InvalidInputError` when ``new`` takes a model over a limit."""
        limits = self.limits
        by_model: dict[str, list[Entry]] = {}
        for entry in new.values():
            by_model.setdefault(entry.model, []).append(entry)
        for model, entries in by_model.items():
            known = self.model(model)
            groups = [parse_group_key(e.value) for e in entries if e.kind == "g"]
            values = {name: set(v) for name, v in known.attribute_values.items()}
            for group in groups:
                for name, value in group.items():
                    values.setdefault(name, set()).add(value)
            if len(values) > limits.attributes:
                raise over_limit(
                    "sensitive attributes",
                    model,
                    len(values),
                    limits.attributes,
                    "FAIRWATCH_MAX_ATTRIBUTES",
                    f"send at most {limits.attributes} attribute names per model (known: "
                    f"{', '.join(sorted(known.attribute_values)) or 'none'})",
                )
            for name, seen in values.items():
                if len(seen) > limits.values:
                    raise over_limit(
                        f"distinct values of sensitive attribute {name!r}",
                        model,
                        len(seen),
                        limits.values,
                        "FAIRWATCH_MAX_ATTRIBUTE_VALUES",
                        "coarsen the attribute (e.g. age bands) before sending it",
                    )
            self._check_count(
                model,
                "groups (combinations of sensitive values)",
                len(known.groups),
                groups,
                limits.groups,
                "FAIRWATCH_MAX_GROUPS",
                "send fewer or coarser attributes",
            )
            labels = [e for e in entries if e.kind == "l"]
            self._check_count(
                model,
                "distinct labels",
                len(known.labels),
                labels,
                limits.labels,
                "FAIRWATCH_MAX_LABELS",
                "the service monitors classifiers: send the class as prediction and label, and a probability as score",
            )
            series = [e for e in entries if e.kind == "s"]
            self._check_count(
                model,
                "model versions",
                len(known.series),
                series,
                limits.versions,
                "FAIRWATCH_MAX_VERSIONS",
                "reuse version names or use a new model name",
            )
            names = {n for n, _ in known.features.values()} | {e.name for e in entries if e.kind == "f"}
            if len(names) > limits.features:
                raise over_limit(
                    "feature names",
                    model,
                    len(names),
                    limits.features,
                    "FAIRWATCH_MAX_FEATURES",
                    "send only the features you want drift for",
                )

    @staticmethod
    def _check_count(
        model: str, what: str, known: int, new: Sequence[object], limit: int, setting: str, fix: str
    ) -> None:
        if known + len(new) > limit:
            raise over_limit(what, model, known + len(new), limit, setting, fix)

    def admit(self, new: dict[int, Entry]) -> None:
        """Record entries the store now holds (after the transaction that wrote them committed)."""
        with self._lock:
            for entry_id, entry in new.items():
                self._ids[entry_id] = entry
                if entry.model in self._models:
                    self._models[entry.model].add(entry, entry_id)

    def category_room(self, model: str, feature: str) -> int:
        """How many more categories ``feature`` of ``model`` may keep."""
        return self.limits.categories - self.model(model).category_count.get(feature, 0)
