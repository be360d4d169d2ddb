"""The event model: predictions and (late) outcomes, validated with pydantic."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
)

__all__ = [
    "ATTRIBUTE_LIST",
    "ATTRIBUTE_NAME",
    "EARLIEST",
    "EVENT_TIME_PATTERN",
    "LATEST",
    "MAX_LABEL_LENGTH",
    "MAX_VALUE_LENGTH",
    "MODEL_NAME",
    "EventTime",
    "OutcomeBatch",
    "OutcomeEvent",
    "PredictionBatch",
    "PredictionEvent",
    "normalize_label",
]

#: Sensitive attribute and feature names: identifiers (they become column names in the store).
ATTRIBUTE_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
#: Several of them, comma-separated (spaces around the names allowed), as query parameters give them.
ATTRIBUTE_LIST = r"^ *{name} *(, *{name} *)*$".format(name=ATTRIBUTE_NAME[1:-1])
#: Model names: letters, digits, ``_ . -``.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"

#: The supported time range of events and of read periods: from the Unix epoch to the end of 2199.
#: Outside it date arithmetic overflows (year 10000) or stores turn dates into BC dates; no deployed
#: model makes predictions there. Timestamps further in the future than the store's clock-skew
#: allowance (``Store.max_future_skew``) are refused at ingest as well.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
#: The JSON Schema of an event time: an RFC 3339 date-time written with a year from 1970 to 2199. (The
#: range itself is one of instants, which no pattern can compare across UTC offsets: within a day of
#: either end, the offset decides.)
EVENT_TIME_PATTERN = (
    r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
#: An aware timestamp within the supported range (``EARLIEST <= t < LATEST``).
EventTime = Annotated[AwareDatetime, Field(ge=EARLIEST, lt=LATEST, json_schema_extra={"pattern": EVENT_TIME_PATTERN})]
#: Longest label and prediction text: labels are class names (PostgreSQL cannot index long texts).
MAX_LABEL_LENGTH = 100
#: Longest text of a sensitive attribute value or a feature value.
MAX_VALUE_LENGTH = 200

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
#: Texts stored in the events table: PostgreSQL's text cannot hold a NUL character.
NO_NUL = r"^[^\x00]*$"
LabelText = Annotated[StrictStr, Field(max_length=MAX_LABEL_LENGTH, pattern=NO_NUL)]
ValueText = Annotated[StrictStr, Field(max_length=MAX_VALUE_LENGTH)]
# the finite float comes first so that its error ("should be a finite number") is the one reported
# for NaN and infinities (JSON's NaN, Infinity, 1e400); the 422 message picks the most specific error
Label = Union[FiniteFloat, StrictBool, StrictInt, LabelText]
AttributeValue = Union[FiniteFloat, StrictBool, StrictInt, ValueText]
FeatureValue = Union[FiniteFloat, StrictBool, StrictInt, ValueText]
#: A sensitive attribute or feature name (a dict key): an identifier of at most 63 characters.
AttributeName = Annotated[str, StringConstraints(pattern=ATTRIBUTE_NAME)]
#: Maps keyed by attribute names refuse other keys; pydantic's JSON Schema lists the key pattern
#: (``patternProperties``) but would leave other keys open.
_NAMED_KEYS_ONLY = Field(json_schema_extra={"additionalProperties": False})
MAX_BATCH = 10_000


def normalize_label(value: Any) -> str:
    """Labels and predictions are stored as text: ``True``/``1``/``1.0`` all become ``"1"``."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalize_attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class PredictionEvent(BaseModel):
    """One prediction a model made.

    ``prediction_id`` is the idempotency key (per model): sending it again is a counted no-op.
    ``sensitive`` holds the group attributes (already coarsened or pseudonymised by the client
    where policy says so); ``features`` are optional inputs used for drift.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prediction_id: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    model: Annotated[str, Field(pattern=MODEL_NAME)]
    model_version: Annotated[str, Field(max_length=64, pattern=NO_NUL)] | None = None
    timestamp: EventTime
    prediction: Label
    score: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    # names are checked in Rust by the key pattern: no per-event Python validator on the hot path
    sensitive: Annotated[dict[AttributeName, AttributeValue | None], _NAMED_KEYS_ONLY] = Field(default_factory=dict)
    features: Annotated[dict[AttributeName, FeatureValue | None], _NAMED_KEYS_ONLY] | None = None


class OutcomeEvent(BaseModel):
    """The true label of an earlier (or later) prediction, joined by ``prediction_id``.

    ``model`` is optional: give it when prediction ids are only unique per model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prediction_id: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    label: Label
    timestamp: EventTime
    model: Annotated[str, Field(pattern=MODEL_NAME)] | None = None


class PredictionBatch(BaseModel):
    """Request body of ``POST /v1/predictions``."""

    model_config = ConfigDict(extra="forbid")
    events: Annotated[list[PredictionEvent], Field(min_length=1, max_length=MAX_BATCH)]


class OutcomeBatch(BaseModel):
    """Request body of ``POST /v1/outcomes``."""

    model_config = ConfigDict(extra="forbid")
    events: Annotated[list[OutcomeEvent], Field(min_length=1, max_length=MAX_BATCH)]
