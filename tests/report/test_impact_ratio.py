"""NYC LL144-shaped impact-ratio tables: numbers against a direct pandas computation, disclosures,
bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fairwatch.exceptions import InvalidInputError, MissingValueError, UnknownColumnError
from fairwatch.report import ImpactRatio, impact_ratio


@pytest.fixture(scope="module")
def applicants() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 5000
    sex = rng.choice(["Female", "Male"], n)
    # "Other" holds ~1 % of the rows and has the highest selection rate: it must not be the denominator
    race = rng.choice(["Asian", "Black", "White", "Other"], n, p=[0.2, 0.25, 0.54, 0.01])
    base = np.where(race == "Black", 0.22, 0.35) + np.where(sex == "Female", -0.05, 0.0)
    base = np.where(race == "Other", 0.9, base)
    hired = (rng.random(n) < base).astype(int)
    score = np.round(base + rng.normal(0, 0.2, n), 2)  # ties at the median on purpose (2 decimals)
    return pd.DataFrame({"sex": sex, "race": race, "hired": hired, "score": score})


def _direct(frame: pd.DataFrame, columns: list[str], flag: pd.Series, total: int) -> pd.DataFrame:
    """Impact ratios computed straight from the rows with pandas."""
    grouped = frame.assign(flag=flag).groupby(columns)["flag"].agg(["size", "sum", "mean"])
    grouped["excluded"] = grouped["size"] / total < 0.02
    highest = grouped.loc[~grouped["excluded"], "mean"].max()
    grouped["impact_ratio"] = np.where(grouped["excluded"], np.nan, grouped["mean"] / highest)
    return grouped


@pytest.mark.parametrize("mode", ["selected", "score"])
def test_equals_direct_pandas_computation(applicants: pd.DataFrame, mode: str) -> None:
    if mode == "selected":
        result = impact_ratio(applicants, selected="hired", categories=["sex", "race"])
        flag = applicants["hired"] == 1
    else:
        result = impact_ratio(applicants, score="score", categories="sex,race")
        assert result.median_score == pytest.approx(applicants["score"].median())
        flag = applicants["score"] > applicants["score"].median()  # scoring rate: strictly above the median
        assert result.rate == "scoring_rate"
    assert [t.category for t in result.tables] == ["sex", "race", "sex × race"]
    for table in result.tables:
        expected = _direct(applicants, list(table.categories), flag, len(applicants))
        assert len(table.rows) == len(expected)
        for row in table.rows:
            key = tuple(row.values[c] for c in table.categories)
            want = expected.loc[key if len(key) > 1 else key[0]]
            assert row.n == want["size"] and row.selected == want["sum"]
            assert row.selection_rate == pytest.approx(want["mean"], abs=1e-12)
            assert row.excluded == bool(want["excluded"])
            if row.excluded:
                assert row.impact_ratio is None and row.below_threshold is None
            else:
                assert row.impact_ratio == pytest.approx(want["impact_ratio"], abs=1e-12)
                assert row.below_threshold == (want["impact_ratio"] < 0.8)


def test_exclusions_are_disclosed(applicants: pd.DataFrame) -> None:
    result = impact_ratio(applicants, selected="hired", categories=["sex", "race"])
    race = result.to_dict()["tables"][1]
    other = (applicants["race"] == "Other").sum()
    assert race["excluded_groups"] == ["Other"]
    assert race["excluded_n"] == other and race["excluded_share"] == pytest.approx(other / len(applicants))
    assert race["highest_group"] in ("Asian", "White")  # the excluded group's 0.9 rate is not the denominator
    assert race["flagged_groups"] == ["Black"]
    rows = {r["group"]: r for r in race["rows"]}
    assert rows["Other"]["excluded"] and rows["Other"]["impact_ratio"] is None
    assert rows["Other"]["selection_rate"] is not None  # still reported, just not compared
    text = result.to_html()
    assert "Excluded from the impact ratios" in text and "Other" in text
    csv = result.to_csv().splitlines()
    assert csv[0] == "category,group,n,share,selected,selection_rate,impact_ratio,excluded,below_threshold"
    assert any(line.startswith("race,Other,") and ",True," in line for line in csv)


def test_json_shape(applicants: pd.DataFrame) -> None:
    data = impact_ratio(applicants, selected="hired", categories=["sex"]).to_dict()
    assert isinstance(data["tables"], list) and len(data["tables"]) == 1
    table = data["tables"][0]
    assert {"category", "categories", "rows"} <= set(table)
    assert table["category"] == "sex" and table["categories"] == ["sex"]
    for row in table["rows"]:
        assert {"group", "n", "selection_rate", "impact_ratio", "excluded"} <= set(row)


def test_unknown_category_values_are_counted_not_compared() -> None:
    frame = pd.DataFrame(
        {"sex": ["F", "M", None, "", "F", "M"] * 50, "race": ["A", "B"] * 150, "hired": [1, 0, 1, 1, 0, 1] * 50}
    )
    result = impact_ratio(frame, selected="hired", categories=["sex", "race"])
    sex, race, both = result.tables
    assert sex.unknown == 100 and sex.n == 200  # null and blank values are unknown
    assert race.unknown == 0 and both.unknown == 100
    assert [r.group for r in sex.rows] == ["F", "M"]


@pytest.mark.parametrize("library", ["polars", "pyarrow"])
def test_other_dataframe_libraries(applicants: pd.DataFrame, library: str) -> None:
    if library == "polars":
        pl = pytest.importorskip("polars")
        native = pl.from_pandas(applicants)
    else:
        import pyarrow as pa

        native = pa.Table.from_pandas(applicants)
    expected = impact_ratio(applicants, selected="hired", categories=["sex", "race"]).to_dict()
    assert impact_ratio(native, selected="hired", categories=["sex", "race"]).to_dict() == expected


def test_boolean_and_labelled_outcomes(applicants: pd.DataFrame) -> None:
    as_bool = applicants.assign(hired=applicants["hired"] == 1)
    as_text = applicants.assign(hired=np.where(applicants["hired"] == 1, "yes", "no"))
    base = impact_ratio(applicants, selected="hired", categories="race").to_dict()["tables"]
    assert impact_ratio(as_bool, selected="hired", categories="race").to_dict()["tables"] == base
    assert impact_ratio(as_text, selected="hired", categories="race", pos_label="yes").to_dict()["tables"] == base
    with pytest.raises(InvalidInputError, match=r"cannot tell which value .* means selected.*pass pos_label="):
        impact_ratio(as_text, selected="hired", categories="race")


def test_bad_input(applicants: pd.DataFrame) -> None:
    with pytest.raises(
        UnknownColumnError, match=r"categories column 'gender' is not in the data; available columns: sex"
    ):
        impact_ratio(applicants, selected="hired", categories=["gender"])
    with pytest.raises(UnknownColumnError, match=r"score column 'points' is not in the data"):
        impact_ratio(applicants, score="points", categories=["sex"])
    with pytest.raises(InvalidInputError, match=r"score column 'race' holds String values, not numbers"):
        impact_ratio(applicants, score="race", categories=["sex"])
    single = applicants.assign(country="US")
    with pytest.raises(InvalidInputError, match=r"category 'country' has a single group \(country=US\).*Drop it"):
        impact_ratio(single, selected="hired", categories=["sex", "country"])
    with pytest.raises(InvalidInputError, match=r"exactly one of selected= .* or score="):
        impact_ratio(applicants, selected="hired", score="score", categories=["sex"])
    with pytest.raises(InvalidInputError, match=r"exactly one of selected="):
        impact_ratio(applicants, categories=["sex"])
    with pytest.raises(InvalidInputError, match=r"selected column 'score' has \d+ distinct values .*use score="):
        impact_ratio(applicants, selected="score", categories=["sex"])
    with pytest.raises(MissingValueError, match=r"score column 'score' has 1 missing values"):
        impact_ratio(
            applicants.assign(score=applicants["score"].where(applicants.index != 3)), score="score", categories=["sex"]
        )
    with pytest.raises(InvalidInputError, match=r"categories is empty"):
        impact_ratio(applicants, selected="hired", categories=[])
    with pytest.raises(InvalidInputError, match=r"data must be a dataframe"):
        impact_ratio({"sex": ["a"]}, selected="hired", categories=["sex"])


def test_result_type(applicants: pd.DataFrame) -> None:
    result = impact_ratio(applicants, selected="hired", categories="sex", intersection=False)
    assert isinstance(result, ImpactRatio) and len(result.tables) == 1
    frame = result.to_frame()
    assert list(frame["group"]) == ["Female", "Male"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d", None]), st.sampled_from(["x", "y"]), st.booleans()),
        min_size=8,
        max_size=120,
    ),
    st.sampled_from([0.0, 0.02, 0.1, 0.3]),
)
def test_invariants(records: list[tuple[str | None, str, bool]], min_share: float) -> None:
    frame = pd.DataFrame(records, columns=["cat", "other", "chosen"])
    known = frame["cat"].dropna()
    assume(known.nunique() >= 2 and frame["other"].nunique() >= 2)
    result = impact_ratio(frame, selected="chosen", categories=["cat", "other"], min_share=min_share)
    for table in result.tables:
        assert table.n + table.unknown == len(frame)
        ratios = []
        for row in table.rows:
            assert row.excluded == (row.n / len(frame) < min_share)
            assert row.selection_rate is not None and 0.0 <= row.selection_rate <= 1.0
            if row.impact_ratio is not None:
                assert 0.0 <= row.impact_ratio <= 1.0 + 1e-12
                ratios.append(row.impact_ratio)
        if ratios:
            assert max(ratios) == pytest.approx(1.0)  # the highest-rate compared group is the reference
