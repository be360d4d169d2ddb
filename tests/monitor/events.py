"""Synthetic event streams shared by the monitor tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from fairwatch.monitor import OutcomeEvent, PredictionEvent

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


@dataclass
class Stream:
    predictions: list[PredictionEvent]
    outcomes: list[OutcomeEvent]


def make_stream(
    n: int = 1200, *, seed: int = 0, labelled_share: float = 0.6, model: str = "credit", minutes_per_event: float = 0.5
) -> Stream:
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), n)
    race = rng.choice(np.array(["A", "B", "C"]), n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.1 * (sex == "M") + rng.uniform(0, 0.6, n), 0, 1).round(4)
    predictions = [
        PredictionEvent(
            prediction_id=f"p{i}",
            model=model,
            model_version="v1" if i % 3 else "v2",
            timestamp=T0 + dt.timedelta(minutes=float(i * minutes_per_event)),
            prediction=int(score[i] > 0.5),
            score=float(score[i]),
            sensitive={"sex": str(sex[i]), "race": str(race[i])},
            features={"age": int(20 + i % 50), "region": "north" if i % 2 else "south"},
        )
        for i in range(n)
    ]
    labelled = rng.random(n) < labelled_share
    outcomes = [
        OutcomeEvent(prediction_id=f"p{i}", label=int(y[i]), timestamp=T0 + dt.timedelta(days=3))
        for i in range(n)
        if labelled[i]
    ]
    return Stream(predictions, outcomes)
