"""How the version-0 stores of this folder were made: with the 0.1.0 release's own code.

Run with that release's sources first on the path (``git worktree add ../v0 v0.1.0``), then export::

    PYTHONPATH=../v0/src python tests/monitor/data/v0/make_v0.py duckdb:///v0.duckdb
    # in DuckDB: EXPORT DATABASE 'dir' (FORMAT CSV)  -> schema.sql, load.sql (paths as @DIR@), *.csv
    PYTHONPATH=../v0/src python tests/monitor/data/v0/make_v0.py "postgresql://...?schema=fw_v0fix"
    # pg_dump --schema=fw_v0fix --no-owner --no-privileges --no-comments  -> postgres.sql (@SCHEMA@)

The events include what 0.1.0 accepted and later releases refuse (a timestamp in year 9999, a NaN
prediction stored as ``nan``), outcomes with and without a model, and outcomes whose predictions
never arrived.
"""

from __future__ import annotations

import datetime as dt
import sys

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


def main(url: str) -> None:
    import numpy as np

    from fairwatch.monitor import OutcomeEvent, PredictionEvent, open_store

    store = open_store(url)
    rng = np.random.default_rng(7)
    predictions = [
        PredictionEvent(
            prediction_id=f"p{i}",
            model="credit" if i % 4 else "loans",
            model_version=None if i % 3 else "v2",
            timestamp=T0 + dt.timedelta(minutes=11 * i),
            prediction=int(rng.random() < 0.4),
            score=None if i % 9 == 0 else round(float(rng.random()), 3),
            sensitive={"sex": "FM"[i % 2], **({} if i % 7 == 0 else {"race": "abc"[i % 3]})},
            features=None if i % 5 == 0 else {"age": int(rng.integers(18, 90)), "region": ["n", "s"][i % 2]},
        )
        for i in range(400)
    ]
    store.insert_predictions(predictions)
    store.insert_predictions(
        [
            PredictionEvent(
                prediction_id="year-9999",
                model="credit",
                timestamp=dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone.utc),
                prediction=1,
                sensitive={"sex": "F"},
            ),
            PredictionEvent(
                prediction_id="not-a-number",
                model="credit",
                timestamp=T0,
                prediction=float("nan"),
                sensitive={"sex": "M"},
            ),
        ]
    )
    outcomes = [
        OutcomeEvent(
            prediction_id=f"p{i}",
            label=int(rng.random() < 0.5),
            timestamp=T0 + dt.timedelta(days=4),
            model=None if i % 6 == 0 else ("credit" if i % 4 else "loans"),
        )
        for i in range(0, 400, 2)
    ]
    outcomes.append(
        OutcomeEvent(prediction_id="orphan-a", label=1, timestamp=T0 + dt.timedelta(days=4), model="credit")
    )
    outcomes.append(OutcomeEvent(prediction_id="orphan-b", label=0, timestamp=T0 + dt.timedelta(days=4)))
    store.insert_outcomes(outcomes)
    store.create_key("old reader", ["read"])
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
