"""The client SDK of the monitoring service: send predictions and outcomes, read metrics.

:class:`Client` (blocking) and :class:`AsyncClient` (``asyncio``) have the same methods. Both
split events into batches, retry with exponential backoff on connection errors, timeouts and
``429/502/503/504`` answers, and never retry a request the server rejected (bad input, bad key).

Retrying ingest is safe because the server stores each ``prediction_id`` once: a re-sent event is
counted as a duplicate. That only holds when **ids are stable** — the same prediction must carry
the same id every time it is sent. Use your own request or row id; ``ids="uuid"`` generates random
ids once per call (retries inside the call resend them), so re-running the whole call would store
the events a second time.

A :class:`Pseudonymizer` replaces sensitive values by keyed hashes or coarser categories *before*
anything leaves the process, so the service never sees the raw values.

Needs the ``server`` extra (``pip install 'fairwatch[server]'``) for httpx and pydantic.

>>> from fairwatch.client import Client, Pseudonymizer
>>> with Client("http://fairwatch.internal:8000", api_key="...") as client:  # doctest: +SKIP
...     client.log_predictions(df, model="credit", prediction_id="request_id", timestamp="ts",
...                            prediction="approved", score="p", sensitive=["sex", "age"])
...     client.log_outcomes(labels, prediction_id="request_id", timestamp="ts", label="repaid")
...     client.metrics("credit", sensitive="sex", window="1d")
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import math
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import httpx
import narwhals as nw
import numpy as np
from pydantic import BaseModel, ValidationError

from fairwatch._typing import FrameLike
from fairwatch._version import __version__
from fairwatch.exceptions import (
    FairwatchError,
    InvalidInputError,
    LengthMismatchError,
    MissingValueError,
    UnknownColumnError,
)
from fairwatch.monitor._events import MAX_BATCH, OutcomeEvent, PredictionEvent, normalize_attribute

__all__ = [
    "AsyncClient",
    "Client",
    "ClientError",
    "IngestSummary",
    "Pseudonymizer",
    "ServerUnavailableError",
]

log = logging.getLogger("fairwatch.client")

#: Answers worth another try: rate limiting and a gateway or store that is briefly unavailable.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Transport failures worth another try (a bad URL or protocol is not).
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_API_KEY_ENV = "FAIRWATCH_API_KEY"

Bin = tuple[float | None, float | None, str]
"""A coarsening bin ``(low, high, label)``: ``low <= value < high``; ``None`` is unbounded."""


# -- errors ----------------------------------------------------------------------------------------
class ClientError(FairwatchError):
    """A request to the monitoring service failed; nothing more was sent after it.

    Attributes
    ----------
    status_code : int or None
        The HTTP status of the last answer (``None`` when no answer came).
    server_message : str or None
        The server's own explanation (the ``message`` field of its error body).
    url : str or None
        The URL that was requested.
    attempts : int
        How many times the request was sent.
    sent : IngestSummary or None
        For ``log_*`` calls: what the batches before the failing one achieved. Those events are
        stored; sending all events again is safe when their ids are stable.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        server_message: str | None = None,
        url: str | None = None,
        attempts: int = 1,
        sent: IngestSummary | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.server_message = server_message
        self.url = url
        self.attempts = attempts
        self.sent = sent


class ServerUnavailableError(ClientError):
    """The service could not be reached or stayed unavailable through every retry."""


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestSummary:
    """What a ``log_predictions`` / ``log_outcomes`` call did, summed over its batches.

    Attributes
    ----------
    accepted : int
        Events stored by this call.
    duplicates : int
        Events the server already had (same id). After a retried timeout, events stored by the
        first attempt come back as duplicates.
    batches : int
        Requests that succeeded.
    """

    accepted: int
    duplicates: int
    batches: int

    def _plus(self, answer: Any) -> IngestSummary:
        return IngestSummary(
            self.accepted + int(answer["accepted"]), self.duplicates + int(answer["duplicates"]), self.batches + 1
        )


# -- pseudonymisation ------------------------------------------------------------------------------
class Pseudonymizer:
    """Replace sensitive values by keyed hashes or coarser categories before they are sent.

    Hashing uses HMAC-SHA256 with a secret key: the same value always gets the same pseudonym
    under the same key (so groups stay groups), and without the key nobody can test guesses
    against the pseudonyms. The attribute name is part of the hashed message, so equal values of
    different attributes get different pseudonyms. Values are normalised like the server does
    (``1``, ``1.0`` -> ``"1"``) before hashing; ``None`` stays ``None``.

    Coarsening replaces a value by a category: numeric bins ``(low, high, label)`` with
    ``low <= value < high`` (``None`` is unbounded), or a mapping whose ``"*"`` entry catches
    every value not listed. An attribute both coarsened and hashed is coarsened first.

    The same transformations apply to a ``features`` entry with the same name, so a raw value
    cannot leave through the drift features either.

    Parameters
    ----------
    key : bytes or str
        The secret key (keep it out of the service; ``secrets.token_bytes(32)`` makes a good one).
    hash_attributes : sequence of str, default ()
        Attributes whose values are replaced by keyed hashes.
    coarsen : mapping, optional
        Attribute name -> list of bins or mapping of value -> category.
    hash_length : int, default 16
        Hex characters kept of the 64-character HMAC (8 to 64).

    Raises
    ------
    InvalidInputError
        An empty key, a malformed bin or mapping, or a bad ``hash_length``.

    Examples
    --------
    >>> p = Pseudonymizer(
    ...     b"secret key",
    ...     hash_attributes=["name"],
    ...     coarsen={"age": [(0, 25, "<25"), (25, 45, "25-44"), (45, None, "45+")],
    ...              "race": {"White": "White", "*": "Other"}},
    ... )
    >>> out = p.transform({"name": "Ada", "age": 37, "race": "Asian", "sex": "F"})
    >>> out["age"], out["race"], out["sex"], len(out["name"])
    ('25-44', 'Other', 'F', 16)
    >>> out["name"] == p.hash_value("name", "Ada")  # stable under one key
    True
    >>> out["name"] == Pseudonymizer(b"another key", hash_attributes=["name"]).hash_value("name", "Ada")
    False
    """

    def __init__(
        self,
        key: bytes | str,
        *,
        hash_attributes: Sequence[str] = (),
        coarsen: Mapping[str, Sequence[Bin] | Mapping[Any, str]] | None = None,
        hash_length: int = 16,
    ) -> None:
        raw_key = key.encode("utf-8") if isinstance(key, str) else key
        if not isinstance(raw_key, bytes) or not raw_key:
            raise InvalidInputError("Pseudonymizer key must be non-empty bytes or str; got an empty or non-text key")
        if isinstance(hash_attributes, str):
            hash_attributes = [hash_attributes]
        if not all(isinstance(name, str) for name in hash_attributes):
            raise InvalidInputError(f"hash_attributes must be attribute names (str); got {list(hash_attributes)!r}")
        if not isinstance(hash_length, int) or not 8 <= hash_length <= 64:
            raise InvalidInputError(f"hash_length must be an integer from 8 to 64; got {hash_length!r}")
        self._key = raw_key
        self.hash_attributes = frozenset(hash_attributes)
        self.hash_length = hash_length
        self._bins: dict[str, list[Bin]] = {}
        self._maps: dict[str, dict[Any, str]] = {}
        for attribute, spec in (coarsen or {}).items():
            if isinstance(spec, Mapping):
                self._maps[attribute] = _check_map(attribute, spec)
            else:
                self._bins[attribute] = _check_bins(attribute, spec)

    def __repr__(self) -> str:  # never show the key
        coarsened = sorted({*self._bins, *self._maps})
        return f"Pseudonymizer(hash_attributes={sorted(self.hash_attributes)}, coarsen={coarsened})"

    @property
    def attributes(self) -> frozenset[str]:
        """Every attribute this pseudonymizer changes."""
        return frozenset({*self.hash_attributes, *self._bins, *self._maps})

    def hash_value(self, attribute: str, value: Any) -> str:
        """The pseudonym of ``value`` of ``attribute`` (use it to find a group in ``metrics()``)."""
        message = f"{attribute}\x1f{normalize_attribute(value)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[: self.hash_length]

    def coarsen_value(self, attribute: str, value: Any) -> Any:
        """The category of ``value`` (unchanged when ``attribute`` is not coarsened)."""
        if value is None:
            return None
        value = _plain(value)
        if attribute in self._maps:
            mapping = self._maps[attribute]
            for candidate in (value, normalize_attribute(value)):
                if candidate in mapping:
                    return mapping[candidate]
            if "*" in mapping:
                return mapping["*"]
            raise InvalidInputError(
                f"{attribute}={value!r} is not in the coarsening map of {attribute!r} (keys: "
                f"{', '.join(repr(k) for k in mapping)}); add it or a '*' entry for every other value"
            )
        if attribute in self._bins:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise InvalidInputError(f"{attribute}={value!r} cannot be binned: bins of {attribute!r} need numbers")
            for low, high, label in self._bins[attribute]:
                if (low is None or value >= low) and (high is None or value < high):
                    return label
            described = ", ".join(f"[{low}, {high}) -> {label!r}" for low, high, label in self._bins[attribute])
            raise InvalidInputError(f"{attribute}={value!r} falls in no bin of {attribute!r}: {described}")
        return value

    def transform(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``values`` (attribute -> value) with the configured attributes replaced."""
        out = dict(values)
        for attribute, value in values.items():
            changed = self.coarsen_value(attribute, value)
            if attribute in self.hash_attributes and changed is not None:
                changed = self.hash_value(attribute, changed)
            out[attribute] = changed
        return out


def _check_map(attribute: str, spec: Mapping[Any, str]) -> dict[Any, str]:
    for category in spec.values():
        if not isinstance(category, str):
            raise InvalidInputError(f"coarsen[{attribute!r}] maps values to category names (str); got {category!r}")
    return dict(spec)


def _check_bins(attribute: str, spec: Sequence[Bin]) -> list[Bin]:
    bins = list(spec) if isinstance(spec, (list, tuple)) else None
    if not bins:
        raise InvalidInputError(
            f"coarsen[{attribute!r}] must be a mapping (value -> category) or a non-empty list of "
            f"(low, high, label) bins such as [(0, 25, '<25'), (25, None, '25+')]; got {spec!r}"
        )
    for item in bins:
        ok = isinstance(item, (tuple, list)) and len(item) == 3 and isinstance(item[2], str)
        ok = ok and all(b is None or (isinstance(b, (int, float)) and not isinstance(b, bool)) for b in item[:2])
        if not ok or (item[0] is not None and item[1] is not None and not item[0] < item[1]):
            raise InvalidInputError(
                f"coarsen[{attribute!r}]: {item!r} is not a bin; bins are (low, high, label) with "
                f"low < high, None for an open end and a str label"
            )
    ordered = sorted(bins, key=lambda b: -math.inf if b[0] is None else b[0])
    for previous, current in itertools.pairwise(ordered):
        previous_high = math.inf if previous[1] is None else previous[1]
        current_low = -math.inf if current[0] is None else current[0]
        if current_low < previous_high:
            raise InvalidInputError(f"coarsen[{attribute!r}]: bins {previous!r} and {current!r} overlap")
    return [(b[0], b[1], b[2]) for b in bins]


# -- turning caller input into validated events ----------------------------------------------------
def _plain(value: Any) -> Any:
    """numpy scalars become Python scalars (JSON and the strict event schema need them)."""
    return value.item() if isinstance(value, np.generic) else value


def _plain_or_none(value: Any) -> Any:
    """Like :func:`_plain`; in dataframe columns NaN means missing, so it becomes ``None``."""
    value = _plain(value)
    return None if isinstance(value, float) and math.isnan(value) else value


def _at(where: str, text: str) -> str:
    """``events[3]`` + ``timestamp: ...`` -> ``events[3].timestamp: ...``; ``row 3`` -> ``row 3: timestamp: ...``."""
    return f"{where}.{text}" if where.endswith("]") else f"{where}: {text}"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"]) or "event"
    return f"{location}: {error['msg']}"


def _validate(
    rows: Iterable[tuple[str, dict[str, Any] | BaseModel]], schema: type[PredictionEvent] | type[OutcomeEvent]
) -> list[Any]:
    """Validate every row; report the first problem and how many rows have one."""
    events: list[Any] = []
    first: str | None = None
    bad = 0
    for where, row in rows:
        if isinstance(row, schema):  # validated when it was made, and left unchanged
            events.append(row)
            continue
        try:
            events.append(schema.model_validate(row))
        except ValidationError as exc:
            bad += 1
            first = first or _at(where, _first_error(exc))
    if first is not None:
        more = f" (and {bad - 1} more invalid event(s))" if bad > 1 else ""
        raise InvalidInputError(f"{first}{more}; nothing was sent")
    return events


class _Columns:
    """Named columns of a dataframe or of a mapping of sequences, as Python lists."""

    def __init__(self, data: Any, wanted: Iterable[str | None]) -> None:
        self.frame: nw.DataFrame[Any] | None = None
        self.mapping: Mapping[str, Any] | None = None
        if isinstance(data, Mapping):
            for name, values in data.items():
                if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
                    raise InvalidInputError(
                        f"a mapping is read as columns (name -> sequence of values), but {name!r} holds a "
                        f"{type(values).__name__}; to send single events pass a list of them: [event, ...]"
                    )
            self.mapping = data
            self.names = [str(name) for name in data]
        else:
            frame = nw.from_native(data)
            if isinstance(frame, nw.LazyFrame):
                # Events leave the process row by row, so a lazy frame is collected, once and only
                # on the columns needed (separate queries could return rows in different orders).
                self.names = list(frame.collect_schema().names())
                chosen = [name for name in dict.fromkeys(wanted) if name in self.names] or self.names[:1]
                frame = frame.select(*chosen).collect()
            else:
                self.names = list(frame.columns)
            if not isinstance(frame, nw.DataFrame):
                raise InvalidInputError(f"data must be a dataframe; got {type(data).__name__}")
            self.frame = frame
        self._lengths: dict[str, int] = {}

    def get(self, name: str, argument: str) -> list[Any]:
        if name not in self.names:
            raise UnknownColumnError(
                f"{argument}={name!r} is not a column of the data; available columns: "
                + (", ".join(map(repr, self.names)) or "none")
            )
        if self.frame is not None:
            series = self.frame.get_column(name)
            values = series.to_list()
            if series.null_count():  # NaN, NaT, pd.NA, null: all missing, all None
                values = [None if null else v for v, null in zip(values, series.is_null().to_list())]
        else:
            assert self.mapping is not None
            raw = self.mapping[name]
            values = raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
        self._lengths[f"{argument}={name!r}"] = len(values)
        if len(set(self._lengths.values())) > 1:
            detail = ", ".join(f"{arg} has {n}" for arg, n in self._lengths.items())
            raise LengthMismatchError(f"columns must have one value per event, but {detail}")
        return values

    def required(self, name: str, argument: str) -> list[Any]:
        values = [_plain(v) for v in self.get(name, argument)]
        missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and math.isnan(v))]
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
            raise MissingValueError(
                f"{argument}={name!r} has {len(missing)} missing value(s) at row(s) {shown}; every event needs one"
            )
        return values

    def timestamps(self, name: str, argument: str) -> list[Any]:
        if self.frame is not None and name in self.names:
            dtype = self.frame.schema[name]
            if isinstance(dtype, nw.Datetime) and dtype.time_zone is None:
                raise InvalidInputError(
                    f"{argument}={name!r} holds timestamps without a time zone ({dtype}); say which zone they "
                    f"are in first, e.g. df[{name!r}].dt.tz_localize('UTC') (pandas) or "
                    f"pl.col({name!r}).dt.replace_time_zone('UTC') (Polars)"
                )
        return self.required(name, argument)

    def optional(self, name: str | None, argument: str) -> list[Any] | None:
        if name is None:
            return None
        return [_plain_or_none(v) for v in self.get(name, argument)]

    def named(self, spec: str | Sequence[str] | Mapping[str, str] | None, argument: str) -> dict[str, list[Any]]:
        """``sensitive=`` / ``features=``: column names, or a mapping attribute name -> column."""
        return {
            attribute: [_plain_or_none(v) for v in self.get(column, f"{argument}[{attribute!r}]")]
            for attribute, column in _named_columns(spec).items()
        }

    def length(self) -> int:
        if self.frame is not None:
            return len(self.frame)
        lengths = set(self._lengths.values())
        return lengths.pop() if lengths else 0


def _named_columns(spec: str | Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """Attribute name -> column name, from one name, a list of names or a renaming mapping."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        return {spec: spec}
    if isinstance(spec, Mapping):
        return {str(attribute): column for attribute, column in spec.items()}
    return {str(name): name for name in spec}


def _is_columns(data: Any) -> bool:
    if isinstance(data, Mapping):
        return True
    if isinstance(data, (list, tuple)):
        return False
    return isinstance(nw.from_native(data, pass_through=True), (nw.DataFrame, nw.LazyFrame))


def _as_event_list(data: Any, kind: str) -> list[Any]:
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise InvalidInputError(
            f"{kind} must be a list of events (models or dicts), a dataframe or a mapping of columns; "
            f"got {type(data).__name__}"
        )
    return list(data)


def _event_dict(item: Any, where: str, schema: type[BaseModel]) -> dict[str, Any]:
    if isinstance(item, BaseModel):
        if not isinstance(item, schema):
            raise InvalidInputError(f"{where} is a {type(item).__name__}; expected a {schema.__name__} or a dict")
        return item.model_dump()
    if isinstance(item, Mapping):
        return {str(k): v for k, v in item.items()}
    raise InvalidInputError(f"{where} is a {type(item).__name__}; expected a {schema.__name__} or a dict")


_NO_ID = (
    "give every prediction a stable id (your request or row id) so re-sending it is a no-op, or pass "
    "ids='uuid' to generate random ids for this call (retries within the call reuse them; running the "
    "call again would store the events twice)"
)


def _check_ids_option(ids: str | None) -> None:
    if ids not in (None, "uuid"):
        raise InvalidInputError(f"ids must be None (ids come with the events) or 'uuid'; got {ids!r}")


def _check_model(model: str | None, model_version: str | None) -> None:
    if model is not None and not isinstance(model, str):
        raise InvalidInputError(f"model must be a str; got {type(model).__name__}")
    if model_version is not None and not isinstance(model_version, str):
        raise InvalidInputError(f"model_version must be a str; got {type(model_version).__name__}")


def _apply_pseudonymizer(
    row: dict[str, Any] | PredictionEvent, pseudonymizer: Pseudonymizer | None, where: str
) -> dict[str, Any] | PredictionEvent:
    if pseudonymizer is None or isinstance(row, PredictionEvent):
        return row
    for field in ("sensitive", "features"):
        values = row.get(field)
        if isinstance(values, Mapping):
            try:
                row[field] = pseudonymizer.transform(values)
            except InvalidInputError as exc:
                raise InvalidInputError(f"{_at(where, field)}: {exc}; nothing was sent") from None
    return row


def _prepare_predictions(
    data: Any,
    *,
    model: str | None = None,
    model_version: str | None = None,
    ids: Literal["uuid"] | None = None,
    prediction_id: str | None = None,
    timestamp: str | None = None,
    prediction: str | None = None,
    score: str | None = None,
    sensitive: str | Sequence[str] | Mapping[str, str] | None = None,
    features: str | Sequence[str] | Mapping[str, str] | None = None,
    pseudonymizer: Pseudonymizer | None = None,
) -> list[PredictionEvent]:
    """Validated, pseudonymised prediction events from any accepted input (no network)."""
    _check_ids_option(ids)
    _check_model(model, model_version)
    column_arguments = {
        "prediction_id": prediction_id,
        "timestamp": timestamp,
        "prediction": prediction,
        "score": score,
        "sensitive": sensitive,
        "features": features,
    }
    if _is_columns(data):
        rows = _prediction_rows_from_columns(data, model, model_version, ids, column_arguments)
    else:
        given = [name for name, value in column_arguments.items() if value is not None]
        if given:
            raise InvalidInputError(
                f"{', '.join(given)}= name(s) columns, which only applies to a dataframe or a mapping of columns; "
                f"the events given are a {type(data).__name__} of events"
            )
        items = _as_event_list(data, "predictions")
        rows = _prediction_rows_from_events(items, model, model_version, ids, keep_models=pseudonymizer is None)
    return _validate(((where, _apply_pseudonymizer(row, pseudonymizer, where)) for where, row in rows), PredictionEvent)


def _prediction_rows_from_events(
    items: list[Any], model: str | None, model_version: str | None, ids: str | None, *, keep_models: bool
) -> list[tuple[str, dict[str, Any] | PredictionEvent]]:
    rows: list[tuple[str, dict[str, Any] | PredictionEvent]] = []
    for i, item in enumerate(items):
        where = f"events[{i}]"
        if (
            keep_models
            and isinstance(item, PredictionEvent)
            and model in (None, item.model)
            and (model_version is None or item.model_version is not None)
        ):
            rows.append((where, item))
            continue
        row = _event_dict(item, where, PredictionEvent)
        if not row.get("prediction_id"):
            if ids != "uuid":
                raise InvalidInputError(f"{where} has no prediction_id; {_NO_ID}")
            row["prediction_id"] = uuid.uuid4().hex
        if model is not None:
            if row.get("model") not in (None, model):
                raise InvalidInputError(f"{where} is for model {row['model']!r} but model={model!r} was given")
            row["model"] = model
        if model_version is not None and row.get("model_version") is None:
            row["model_version"] = model_version
        for field in ("prediction", "score"):
            if field in row:
                row[field] = _plain(row[field])
        for field in ("sensitive", "features"):
            if isinstance(row.get(field), Mapping):
                row[field] = {str(k): _plain(v) for k, v in row[field].items()}
        rows.append((where, row))
    return rows


def _prediction_rows_from_columns(
    data: Any, model: str | None, model_version: str | None, ids: str | None, names: dict[str, Any]
) -> list[tuple[str, dict[str, Any] | PredictionEvent]]:
    if model is None:
        raise InvalidInputError("model= is required with a dataframe or a mapping of columns (e.g. model='credit')")
    id_column = names["prediction_id"] or "prediction_id"
    wanted = [id_column, names["timestamp"] or "timestamp", names["prediction"] or "prediction", names["score"]]
    wanted += [*_named_columns(names["sensitive"]).values(), *_named_columns(names["features"]).values()]
    columns = _Columns(data, wanted)
    if ids == "uuid" and id_column not in columns.names:
        id_values = None
    else:
        try:
            id_values = [str(v) for v in columns.required(id_column, "prediction_id")]
        except UnknownColumnError as exc:
            raise UnknownColumnError(f"{exc}; {_NO_ID}") from None
    times = columns.timestamps(names["timestamp"] or "timestamp", "timestamp")
    predicted = columns.required(names["prediction"] or "prediction", "prediction")
    scores = columns.optional(names["score"], "score")
    sensitive = columns.named(names["sensitive"], "sensitive")
    features = columns.named(names["features"], "features")
    n = columns.length()
    if id_values is None:
        id_values = [uuid.uuid4().hex for _ in range(n)]
    rows: list[tuple[str, dict[str, Any] | PredictionEvent]] = []
    for i in range(n):
        row: dict[str, Any] = {
            "prediction_id": id_values[i],
            "model": model,
            "model_version": model_version,
            "timestamp": times[i],
            "prediction": predicted[i],
            "score": scores[i] if scores is not None else None,
            "sensitive": {name: values[i] for name, values in sensitive.items()},
        }
        if features:
            row["features"] = {name: values[i] for name, values in features.items()}
        rows.append((f"row {i}", row))
    return rows


def _prepare_outcomes(
    data: Any,
    *,
    model: str | None = None,
    prediction_id: str | None = None,
    label: str | None = None,
    timestamp: str | None = None,
) -> list[OutcomeEvent]:
    """Validated outcome events from any accepted input (no network)."""
    _check_model(model, None)
    column_arguments = {"prediction_id": prediction_id, "label": label, "timestamp": timestamp}
    rows: list[tuple[str, dict[str, Any] | BaseModel]] = []
    if _is_columns(data):
        columns = _Columns(data, [prediction_id or "prediction_id", label or "label", timestamp or "timestamp"])
        ids = [str(v) for v in columns.required(prediction_id or "prediction_id", "prediction_id")]
        labels = columns.required(label or "label", "label")
        times = columns.timestamps(timestamp or "timestamp", "timestamp")
        for i in range(columns.length()):
            row = {"prediction_id": ids[i], "label": labels[i], "timestamp": times[i]}
            if model is not None:
                row["model"] = model
            rows.append((f"row {i}", row))
    else:
        given = [name for name, value in column_arguments.items() if value is not None]
        if given:
            raise InvalidInputError(
                f"{', '.join(given)}= name(s) columns, which only applies to a dataframe or a mapping of columns"
            )
        for i, item in enumerate(_as_event_list(data, "outcomes")):
            where = f"events[{i}]"
            if isinstance(item, OutcomeEvent) and model in (None, item.model):
                rows.append((where, item))
                continue
            row = _event_dict(item, where, OutcomeEvent)
            if model is not None:
                if row.get("model") not in (None, model):
                    raise InvalidInputError(f"{where} is for model {row['model']!r} but model={model!r} was given")
                row["model"] = model
            if "label" in row:
                row["label"] = _plain(row["label"])
            rows.append((where, row))
    return _validate(rows, OutcomeEvent)


def _encode_batch(events: Sequence[BaseModel]) -> bytes:
    return b'{"events":[' + b",".join(e.model_dump_json().encode() for e in events) + b"]}"


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if isinstance(body, Mapping):
        for key in ("message", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return str(body)[:300]


def _timestamp_param(value: datetime | None, argument: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{argument} must be a datetime; got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(
            f"{argument}={value.isoformat()} has no time zone; pass an aware datetime, e.g. "
            f"datetime(..., tzinfo=timezone.utc)"
        )
    return value.isoformat()


def _join(value: str | Sequence[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return ",".join(value)


@dataclass(frozen=True)
class _Request:
    """One request as it will be (re)sent: the body is encoded once, so retries resend the same bytes."""

    method: str
    path: str
    body: bytes | None = None
    params: dict[str, str] | None = None
    context: str = ""
    sent: IngestSummary | None = None
    batch_offset: int = 0

    @property
    def headers(self) -> dict[str, str] | None:
        return {"content-type": "application/json"} if self.body is not None else None


# -- the shared (I/O-free) half of both clients ----------------------------------------------------
class _BaseClient:
    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        timeout: float | None,
        batch_size: int,
        max_retries: int,
        backoff: float,
        max_backoff: float,
        pseudonymizer: Pseudonymizer | None,
    ) -> None:
        parsed = httpx.URL(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise InvalidInputError(f"url must be an http(s) URL such as 'http://127.0.0.1:8000'; got {url!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
            raise InvalidInputError(f"batch_size must be an integer from 1 to {MAX_BATCH}; got {batch_size!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidInputError(f"max_retries must be an integer >= 0; got {max_retries!r}")
        for name, value in (("backoff", backoff), ("max_backoff", max_backoff)):
            if not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidInputError(f"{name} must be a number of seconds >= 0; got {value!r}")
        if timeout is not None and (not isinstance(timeout, (int, float)) or not timeout > 0):
            raise InvalidInputError(f"timeout must be a number of seconds > 0 or None; got {timeout!r}")
        if pseudonymizer is not None and not isinstance(pseudonymizer, Pseudonymizer):
            raise InvalidInputError(f"pseudonymizer must be a Pseudonymizer; got {type(pseudonymizer).__name__}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.pseudonymizer = pseudonymizer
        key = api_key if api_key is not None else os.environ.get(_API_KEY_ENV)
        self._headers = {"user-agent": f"fairwatch-client/{__version__}", "accept": "application/json"}
        if key:
            self._headers["authorization"] = f"Bearer {key}"
        self._random = random.Random()

    def __repr__(self) -> str:  # never show the key
        return f"{type(self).__name__}(url={self.url!r}, batch_size={self.batch_size}, max_retries={self.max_retries})"

    # requests ------------------------------------------------------------------------------------
    def _batch(self, path: str, events: Sequence[BaseModel], start: int, sent: IngestSummary) -> _Request:
        """The request of the batch starting at event ``start``; its body is encoded once."""
        chunk = events[start : start + self.batch_size]
        total = math.ceil(len(events) / self.batch_size)
        number = start // self.batch_size + 1
        context = f"batch {number} of {total} (events {start}-{start + len(chunk) - 1}): " if total > 1 else ""
        return _Request("POST", path, _encode_batch(chunk), context=context, sent=sent, batch_offset=start)

    def _metrics_request(
        self,
        model: str,
        sensitive: str | Sequence[str],
        *,
        window: str,
        start: datetime | None,
        end: datetime | None,
        metrics: str | Sequence[str] | None,
        model_version: str | None,
        ci: float | None,
        min_group_size: int | None,
        pos_label: str | None,
    ) -> _Request:
        if not isinstance(model, str) or not model:
            raise InvalidInputError(f"model must be a non-empty str; got {model!r}")
        names = _join(sensitive)
        if not names:
            raise InvalidInputError("sensitive must name at least one sensitive attribute, e.g. sensitive='sex'")
        candidates: dict[str, str | None] = {
            "sensitive": names,
            "window": window,
            "start": _timestamp_param(start, "start"),
            "end": _timestamp_param(end, "end"),
            "metrics": _join(metrics),
            "model_version": model_version,
            "ci": None if ci is None else str(ci),
            "min_group_size": None if min_group_size is None else str(min_group_size),
            "pos_label": pos_label,
        }
        params = {key: value for key, value in candidates.items() if value is not None}
        return _Request("GET", f"/v1/models/{quote(model, safe='')}/metrics", params=params)

    @staticmethod
    def _create_key_request(name: str, scopes: str | Sequence[str], models: str | Sequence[str] | None) -> _Request:
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"name must be a non-empty str; got {name!r}")
        listed = [scopes] if isinstance(scopes, str) else list(scopes)
        body: dict[str, Any] = {"name": name, "scopes": listed}
        if models is not None:
            body["models"] = [models] if isinstance(models, str) else list(models)
        return _Request("POST", "/v1/keys", json.dumps(body).encode())

    @staticmethod
    def _revoke_key_request(key_id: str) -> _Request:
        if not isinstance(key_id, str) or not key_id:
            raise InvalidInputError(f"key_id must be a non-empty str; got {key_id!r}")
        return _Request("DELETE", f"/v1/keys/{quote(key_id, safe='')}")

    # answers -------------------------------------------------------------------------------------
    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Exponential backoff with jitter (half fixed, half random); ``Retry-After`` wins when given."""
        if response is not None:
            retry_after = response.headers.get("retry-after")
            try:
                seconds = float(retry_after) if retry_after is not None else None
            except ValueError:  # the HTTP-date form: fall back to backoff
                seconds = None
            if seconds is not None and math.isfinite(seconds):
                return min(max(seconds, 0.0), self.max_backoff)
        ceiling = min(self.max_backoff, self.backoff * 2.0**attempt)
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _full_url(self, request: _Request) -> str:
        return f"{self.url}{request.path}"

    def _answer(self, request: _Request, response: httpx.Response, attempts: int) -> Any:
        """The parsed JSON of a final answer, or a :class:`ClientError` naming the server's reason."""
        url = self._full_url(request)
        if response.status_code == 204:
            return None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise ClientError(
                    f"{request.context}{request.method} {url} answered HTTP {response.status_code} with a body "
                    f"that is not JSON; is {self.url} a fairwatch service?",
                    status_code=response.status_code,
                    url=url,
                    attempts=attempts,
                    sent=request.sent,
                ) from None
        message = _server_message(response)
        hint = ""
        if response.status_code in (401, 403):
            hint = f" (pass api_key= or set {_API_KEY_ENV})"
        elif response.status_code == 413:
            hint = f" (batch_size is {self.batch_size}; lower it)"
        elif response.status_code == 422 and request.batch_offset:
            hint = f" (event indices count from the start of this batch, event {request.batch_offset})"
        error = ServerUnavailableError if response.status_code in RETRY_STATUSES else ClientError
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        raise error(
            f"{request.context}{request.method} {url} failed with HTTP {response.status_code}{tried}: {message}{hint}"
            + self._sent_note(request),
            status_code=response.status_code,
            server_message=message,
            url=url,
            attempts=attempts,
            sent=request.sent,
        )

    def _unreachable(self, request: _Request, problem: str, attempts: int) -> ServerUnavailableError:
        url = self._full_url(request)
        retries = f"{attempts} attempts ({attempts - 1} retries)" if attempts > 1 else "1 attempt (no retries)"
        return ServerUnavailableError(
            f"{request.context}{request.method} {url} failed after {retries}: {problem}; is the fairwatch "
            f"service at {self.url} running and reachable?" + self._sent_note(request),
            url=url,
            attempts=attempts,
            sent=request.sent,
        )

    @staticmethod
    def _sent_note(request: _Request) -> str:
        if request.sent is None or request.sent.batches == 0:
            return ""
        done = request.sent
        return (
            f"; the {done.batches} batch(es) before it were stored ({done.accepted} accepted, "
            f"{done.duplicates} duplicates) and re-sending everything is safe with the same ids"
        )

    def _next_delay(self, request: _Request, problem: str, attempt: int, response: httpx.Response | None) -> float:
        delay = self._delay(attempt, response)
        log.warning(
            "%s %s: %s; retry %d of %d in %.2fs",
            request.method,
            self._full_url(request),
            problem,
            attempt + 1,
            self.max_retries,
            delay,
        )
        return delay

    def _broken(self, request: _Request, exc: httpx.HTTPError) -> ClientError:
        """A transport failure that another try cannot fix (a bad URL, an unsupported protocol)."""
        url = self._full_url(request)
        return ClientError(
            f"{request.context}{request.method} {url}: {_transport_problem(exc)}" + self._sent_note(request),
            url=url,
            sent=request.sent,
        )


def _transport_problem(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# -- the blocking client ---------------------------------------------------------------------------
class Client(_BaseClient):
    """A blocking client of the fairwatch monitoring service.

    Parameters
    ----------
    url : str
        Base URL of the service, e.g. ``"http://127.0.0.1:8000"``.
    api_key : str, optional
        Sent as ``Authorization: Bearer <key>``. Defaults to the ``FAIRWATCH_API_KEY`` environment
        variable; without either no key is sent.
    timeout : float or None, default 10.0
        Seconds to wait for connecting, sending and each read. ``None`` waits forever.
    batch_size : int, default 5000
        Events per request (at most 10 000, the server's limit).
    max_retries : int, default 5
        Retries after the first attempt on connection errors, timeouts and HTTP 429/502/503/504.
    backoff : float, default 0.5
        Base delay in seconds: retry ``k`` (from 0) waits between ``backoff * 2**k / 2`` and
        ``backoff * 2**k``, capped by ``max_backoff``; a ``Retry-After`` header is honoured.
    max_backoff : float, default 30.0
        Longest wait between two attempts.
    pseudonymizer : Pseudonymizer, optional
        Applied to ``sensitive`` (and same-named ``features``) before events are sent.
    transport : httpx.BaseTransport, optional
        Replaces the network (tests pass ``httpx.MockTransport``).
    sleep : callable, optional
        Called with the delay before each retry (default :func:`time.sleep`).

    Raises
    ------
    InvalidInputError
        A malformed URL or out-of-range setting.

    Examples
    --------
    A stand-in server that accepts everything:

    >>> import datetime as dt, httpx
    >>> server = httpx.MockTransport(lambda request: httpx.Response(200, json={"accepted": 2, "duplicates": 0}))
    >>> now = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
    >>> with Client("http://fairwatch.local", "key", transport=server) as client:
    ...     client.log_predictions(
    ...         [{"prediction_id": "r1", "timestamp": now, "prediction": 1, "sensitive": {"sex": "F"}},
    ...          {"prediction_id": "r2", "timestamp": now, "prediction": 0, "sensitive": {"sex": "M"}}],
    ...         model="credit",
    ...     )
    IngestSummary(accepted=2, duplicates=0, batches=1)
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float | None = 10.0,
        batch_size: int = 5000,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        pseudonymizer: Pseudonymizer | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__(
            url,
            api_key,
            timeout=timeout,
            batch_size=batch_size,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            pseudonymizer=pseudonymizer,
        )
        self._sleep = sleep if sleep is not None else time.sleep
        self._http = httpx.Client(
            base_url=self.url, headers=self._headers, timeout=httpx.Timeout(timeout), transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, request: _Request, *, retry: bool = True) -> Any:
        attempts = 1 + (self.max_retries if retry else 0)
        for attempt in range(attempts):
            response: httpx.Response | None = None
            try:
                response = self._http.request(
                    request.method, request.path, content=request.body, params=request.params, headers=request.headers
                )
            except _RETRYABLE_ERRORS as exc:
                problem = _transport_problem(exc)
            except httpx.HTTPError as exc:
                raise self._broken(request, exc) from exc
            if response is not None:
                if response.status_code not in RETRY_STATUSES or attempt + 1 == attempts:
                    return self._answer(request, response, attempt + 1)
                problem = f"HTTP {response.status_code}: {_server_message(response)}"
            if attempt + 1 < attempts:
                self._sleep(self._next_delay(request, problem, attempt, response))
        raise self._unreachable(request, problem, attempts)

    def _ingest(self, path: str, events: Sequence[BaseModel]) -> IngestSummary:
        summary = IngestSummary(0, 0, 0)
        for start in range(0, len(events), self.batch_size):
            summary = summary._plus(self._send(self._batch(path, events, start, summary)))
        return summary

    def log_predictions(
        self,
        events: Sequence[PredictionEvent | Mapping[str, Any]] | Mapping[str, Sequence[Any]] | FrameLike,
        *,
        model: str | None = None,
        model_version: str | None = None,
        ids: Literal["uuid"] | None = None,
        prediction_id: str | None = None,
        timestamp: str | None = None,
        prediction: str | None = None,
        score: str | None = None,
        sensitive: str | Sequence[str] | Mapping[str, str] | None = None,
        features: str | Sequence[str] | Mapping[str, str] | None = None,
    ) -> IngestSummary:
        """Send predictions in batches; re-sent ids are counted as duplicates, not stored twice.

        Every event is validated (and pseudonymised) before the first request, so bad input
        raises without sending anything. Batches are sent in order; when one fails for good, the
        error says which, and ``error.sent`` holds what the earlier batches stored.

        Parameters
        ----------
        events : list, dataframe or mapping of columns
            :class:`~fairwatch.monitor.PredictionEvent` objects or dicts with the same fields, or a
            pandas/Polars/pyarrow dataframe, or a mapping of column name -> sequence of values.
        model : str, optional
            The model name; required with columns, a default (and check) with events.
        model_version : str, optional
            Version for events that carry none.
        ids : {None, "uuid"}, default None
            By default every event must carry a ``prediction_id``; ids must be **stable** (the same
            prediction always gets the same id) for re-sending to be a no-op. ``"uuid"`` fills in
            random ids for events without one: retries in this call resend them, but calling again
            with the same data stores the events a second time.
        prediction_id, timestamp, prediction : str, optional
            Column names (default ``"prediction_id"``, ``"timestamp"``, ``"prediction"``).
            Timestamps must carry a time zone.
        score : str, optional
            Column of scores in [0, 1]; NaN/null means no score.
        sensitive, features : str, list of str or mapping, optional
            Columns of sensitive attributes / drift features; a mapping renames
            (attribute name -> column).

        Returns
        -------
        IngestSummary
            Accepted and duplicate counts summed over the batches.

        Raises
        ------
        InvalidInputError, UnknownColumnError, LengthMismatchError, MissingValueError
            Bad input (raised before any request).
        ClientError
            The server rejected a batch (bad key, invalid events, body too large); not retried.
        ServerUnavailableError
            The server stayed unreachable or unavailable through ``max_retries`` retries.
        """
        prepared = _prepare_predictions(
            events,
            model=model,
            model_version=model_version,
            ids=ids,
            prediction_id=prediction_id,
            timestamp=timestamp,
            prediction=prediction,
            score=score,
            sensitive=sensitive,
            features=features,
            pseudonymizer=self.pseudonymizer,
        )
        return self._ingest("/v1/predictions", prepared)

    def log_outcomes(
        self,
        events: Sequence[OutcomeEvent | Mapping[str, Any]] | Mapping[str, Sequence[Any]] | FrameLike,
        *,
        model: str | None = None,
        prediction_id: str | None = None,
        label: str | None = None,
        timestamp: str | None = None,
    ) -> IngestSummary:
        """Send true labels, joined to earlier (or later) predictions by ``prediction_id``.

        Parameters
        ----------
        events : list, dataframe or mapping of columns
            :class:`~fairwatch.monitor.OutcomeEvent` objects or dicts, or columns.
        model : str, optional
            Give it when prediction ids are only unique per model.
        prediction_id, label, timestamp : str, optional
            Column names (default ``"prediction_id"``, ``"label"``, ``"timestamp"``).

        Returns
        -------
        IngestSummary

        Raises
        ------
        InvalidInputError, ClientError, ServerUnavailableError
            As for :meth:`log_predictions`.
        """
        prepared = _prepare_outcomes(events, model=model, prediction_id=prediction_id, label=label, timestamp=timestamp)
        return self._ingest("/v1/outcomes", prepared)

    def models(self) -> list[dict[str, Any]]:
        """Every model with stored predictions: name, versions, counts, label coverage, time range."""
        answer = self._send(_Request("GET", "/v1/models"))
        return list(answer["models"])

    def metrics(
        self,
        model: str,
        sensitive: str | Sequence[str],
        *,
        window: str = "1h",
        start: datetime | None = None,
        end: datetime | None = None,
        metrics: str | Sequence[str] | None = None,
        model_version: str | None = None,
        ci: float | None = None,
        min_group_size: int | None = None,
        pos_label: str | None = None,
    ) -> dict[str, Any]:
        """Fairness metrics of ``model`` per tumbling window, as the service returns them.

        Parameters
        ----------
        model : str
            The model name.
        sensitive : str or list of str
            Sensitive attribute(s) defining the groups (pseudonymised values stay pseudonyms; use
            :meth:`Pseudonymizer.hash_value` to find a group).
        window : str, default "1h"
            Window length such as ``"15m"``, ``"1h"``, ``"2d"``, ``"1w"``.
        start, end : datetime, optional
            Aware datetimes bounding the windows.
        metrics : str or list of str, optional
            Metric names (default: the service's set).
        model_version : str, optional
            Only this version's predictions.
        ci : float, optional
            Confidence level of intervals, e.g. ``0.95``.
        min_group_size : int, optional
            Groups smaller than this are suppressed.
        pos_label : str, optional
            The positive label (service default ``"1"``).

        Returns
        -------
        dict
            The parsed JSON: ``model``, ``sensitive``, ``window``, ``metrics`` and ``windows``.
        """
        request = self._metrics_request(
            model,
            sensitive,
            window=window,
            start=start,
            end=end,
            metrics=metrics,
            model_version=model_version,
            ci=ci,
            min_group_size=min_group_size,
            pos_label=pos_label,
        )
        return dict(self._send(request))

    def health(self) -> dict[str, Any]:
        """The service's health (one attempt, no retries).

        Raises
        ------
        ServerUnavailableError
            The service is unreachable or reports its store unreachable (HTTP 503).
        """
        return dict(self._send(_Request("GET", "/v1/health"), retry=False))

    def create_key(
        self, name: str, scopes: str | Sequence[str], *, models: str | Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Create an API key in the service's store (needs an ``admin`` key; sent once, never retried).

        Parameters
        ----------
        name : str
            What the key is for.
        scopes : str or list of str
            Among ``ingest``, ``read`` and ``admin``.
        models : str or list of str, optional
            The only models the key may see (default: every model).

        Returns
        -------
        dict
            ``key_id``, ``name``, ``scopes``, ``models``, ``created`` and ``key``: the plain key, shown
            this once.
        """
        return dict(self._send(self._create_key_request(name, scopes, models), retry=False))

    def list_keys(self) -> list[dict[str, Any]]:
        """The keys stored in the service's store, active and revoked (never the keys themselves)."""
        return list(self._send(_Request("GET", "/v1/keys"))["keys"])

    def revoke_key(self, key_id: str) -> None:
        """Revoke a stored key; the service refuses it from the next request on.

        Raises
        ------
        ClientError
            HTTP 404 when no active key has this id.
        """
        self._send(self._revoke_key_request(key_id))


# -- the asyncio client ----------------------------------------------------------------------------
class AsyncClient(_BaseClient):
    """The ``asyncio`` twin of :class:`Client`: same parameters, ``await`` every call.

    ``transport`` is an ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport(app=app)``) and
    ``sleep`` a coroutine function (default :func:`asyncio.sleep`).

    Examples
    --------
    >>> import asyncio, httpx
    >>> server = httpx.MockTransport(lambda request: httpx.Response(200, json={"models": []}))
    >>> async def main():
    ...     async with AsyncClient("http://fairwatch.local", "key", transport=server) as client:
    ...         return await client.models()
    >>> asyncio.run(main())
    []
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float | None = 10.0,
        batch_size: int = 5000,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        pseudonymizer: Pseudonymizer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        super().__init__(
            url,
            api_key,
            timeout=timeout,
            batch_size=batch_size,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            pseudonymizer=pseudonymizer,
        )
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=self._headers, timeout=httpx.Timeout(timeout), transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, request: _Request, *, retry: bool = True) -> Any:
        attempts = 1 + (self.max_retries if retry else 0)
        for attempt in range(attempts):
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    request.method, request.path, content=request.body, params=request.params, headers=request.headers
                )
            except _RETRYABLE_ERRORS as exc:
                problem = _transport_problem(exc)
            except httpx.HTTPError as exc:
                raise self._broken(request, exc) from exc
            if response is not None:
                if response.status_code not in RETRY_STATUSES or attempt + 1 == attempts:
                    return self._answer(request, response, attempt + 1)
                problem = f"HTTP {response.status_code}: {_server_message(response)}"
            if attempt + 1 < attempts:
                await self._sleep(self._next_delay(request, problem, attempt, response))
        raise self._unreachable(request, problem, attempts)

    async def _ingest(self, path: str, events: Sequence[BaseModel]) -> IngestSummary:
        summary = IngestSummary(0, 0, 0)
        for start in range(0, len(events), self.batch_size):
            summary = summary._plus(await self._send(self._batch(path, events, start, summary)))
        return summary

    async def log_predictions(
        self,
        events: Sequence[PredictionEvent | Mapping[str, Any]] | Mapping[str, Sequence[Any]] | FrameLike,
        *,
        model: str | None = None,
        model_version: str | None = None,
        ids: Literal["uuid"] | None = None,
        prediction_id: str | None = None,
        timestamp: str | None = None,
        prediction: str | None = None,
        score: str | None = None,
        sensitive: str | Sequence[str] | Mapping[str, str] | None = None,
        features: str | Sequence[str] | Mapping[str, str] | None = None,
    ) -> IngestSummary:
        """Send predictions in batches (see :meth:`Client.log_predictions`)."""
        prepared = _prepare_predictions(
            events,
            model=model,
            model_version=model_version,
            ids=ids,
            prediction_id=prediction_id,
            timestamp=timestamp,
            prediction=prediction,
            score=score,
            sensitive=sensitive,
            features=features,
            pseudonymizer=self.pseudonymizer,
        )
        return await self._ingest("/v1/predictions", prepared)

    async def log_outcomes(
        self,
        events: Sequence[OutcomeEvent | Mapping[str, Any]] | Mapping[str, Sequence[Any]] | FrameLike,
        *,
        model: str | None = None,
        prediction_id: str | None = None,
        label: str | None = None,
        timestamp: str | None = None,
    ) -> IngestSummary:
        """Send true labels (see :meth:`Client.log_outcomes`)."""
        prepared = _prepare_outcomes(events, model=model, prediction_id=prediction_id, label=label, timestamp=timestamp)
        return await self._ingest("/v1/outcomes", prepared)

    async def models(self) -> list[dict[str, Any]]:
        """Every model with stored predictions (see :meth:`Client.models`)."""
        answer = await self._send(_Request("GET", "/v1/models"))
        return list(answer["models"])

    async def metrics(
        self,
        model: str,
        sensitive: str | Sequence[str],
        *,
        window: str = "1h",
        start: datetime | None = None,
        end: datetime | None = None,
        metrics: str | Sequence[str] | None = None,
        model_version: str | None = None,
        ci: float | None = None,
        min_group_size: int | None = None,
        pos_label: str | None = None,
    ) -> dict[str, Any]:
        """Fairness metrics per window (see :meth:`Client.metrics`)."""
        request = self._metrics_request(
            model,
            sensitive,
            window=window,
            start=start,
            end=end,
            metrics=metrics,
            model_version=model_version,
            ci=ci,
            min_group_size=min_group_size,
            pos_label=pos_label,
        )
        return dict(await self._send(request))

    async def health(self) -> dict[str, Any]:
        """The service's health, one attempt (see :meth:`Client.health`)."""
        return dict(await self._send(_Request("GET", "/v1/health"), retry=False))

    async def create_key(
        self, name: str, scopes: str | Sequence[str], *, models: str | Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Create an API key (see :meth:`Client.create_key`)."""
        return dict(await self._send(self._create_key_request(name, scopes, models), retry=False))

    async def list_keys(self) -> list[dict[str, Any]]:
        """The stored keys (see :meth:`Client.list_keys`)."""
        return list((await self._send(_Request("GET", "/v1/keys")))["keys"])

    async def revoke_key(self, key_id: str) -> None:
        """Revoke a stored key (see :meth:`Client.revoke_key`)."""
        await self._send(self._revoke_key_request(key_id))
