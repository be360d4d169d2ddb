"""A small seeded store for the dashboard tests: four days of a credit model and a second model."""

from __future__ import annotations

import datetime as dt

from fairwatch.monitor import Store

from .events import T0, make_stream

#: Outcomes exist for predictions made before this time: the last day has no labels yet.
LABELS_UNTIL = T0 + dt.timedelta(days=3)


def seed_store(store: Store) -> None:
    """``credit``: 1,500 predictions over ~4 days for two groups (sex F/M), with ages and regions as
    features and outcomes for the first three days; ``loans``: 200 predictions, no outcomes."""
    stream = make_stream(1500, seed=3, minutes_per_event=4)
    predictions = [e.model_copy(update={"sensitive": {"sex": e.sensitive["sex"]}}) for e in stream.predictions]
    made = {e.prediction_id: e.timestamp for e in predictions}
    outcomes = [o for o in stream.outcomes if made[o.prediction_id] < LABELS_UNTIL]
    store.insert_predictions(predictions)
    store.insert_outcomes(outcomes)
    loans = make_stream(200, seed=4, model="loans", minutes_per_event=30)
    store.insert_predictions(
        [
            e.model_copy(update={"prediction_id": f"loan-{e.prediction_id}", "sensitive": {"sex": e.sensitive["sex"]}})
            for e in loans.predictions
        ]
    )
