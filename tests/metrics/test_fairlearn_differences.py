"""Edge cases of the fairlearn-named functions, against fairlearn itself (issue 22, item 9).

Where fairlearn's behaviour is defined and sound, the functions match it; where fairwatch keeps a
difference on purpose, the README's "Differences from fairlearn" and the migration guide say so,
and this file pins both numbers so the documentation cannot drift.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import fairwatch.metrics as fm
from fairwatch.exceptions import LengthMismatchError, UndefinedMetricWarning

fl = pytest.importorskip("fairlearn.metrics")
ROOT = Path(__file__).resolve().parents[2]

Y_PRED = np.array([1, 0, 1, 1, 0, 0, 1, 1, 1, 0])
GROUPS = np.array(["a"] * 5 + ["b"] * 5)


@pytest.mark.parametrize(
    "y_true",
    [
        np.array(["yes", "no"] * 5),  # text labels
        np.array([1.0, np.nan] * 5),  # missing labels
        np.array([0, 1, 2, 3, 4] * 2),  # many classes
        np.zeros(10, dtype=int),  # one class
    ],
    ids=["text", "nan", "many-classes", "one-class"],
)
@pytest.mark.parametrize("name", ["demographic_parity_difference", "demographic_parity_ratio"])
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
def test_demographic_parity_ignores_the_content_of_y_true(y_true: np.ndarray, name: str, method: str) -> None:
    """fairlearn's selection rate reads y_pred only; so do fairwatch's demographic-parity functions."""
    expected = getattr(fl, name)(y_true, Y_PRED, sensitive_features=GROUPS, method=method)
    got = getattr(fm, name)(y_true, Y_PRED, sensitive_features=GROUPS, method=method)
    assert got == pytest.approx(expected, abs=1e-12)


def test_demographic_parity_still_checks_the_length_of_y_true() -> None:
    with pytest.raises(LengthMismatchError, match=r"y_true has 9 values but y_pred has 10; pass one label per"):
        fm.demographic_parity_difference(["yes"] * 9, Y_PRED, sensitive_features=GROUPS)
    assert fm.demographic_parity_difference(None, Y_PRED, sensitive_features=GROUPS) == pytest.approx(
        fl.demographic_parity_difference(Y_PRED, Y_PRED, sensitive_features=GROUPS)
    )


# A group ("c") with no positive labels: its true positive rate is undefined.
Y_TRUE_EO = np.array([1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
Y_PRED_EO = np.array([1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1])
GROUPS_EO = np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 4)


def test_a_group_without_positive_labels_is_left_out_of_the_tpr_gap_not_counted_as_zero() -> None:
    """fairlearn (through scikit-learn) scores the undefined TPR as 0; fairwatch reports nan, warns,
    and leaves the group out of that part. Documented in the README and the migration guide."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fl.equalized_odds_difference(Y_TRUE_EO, Y_PRED_EO, sensitive_features=GROUPS_EO)
    with pytest.warns(UndefinedMetricWarning, match=r"true_positive_rate is undefined for group sensitive_feature_0=c"):
        ours = fm.equalized_odds_difference(Y_TRUE_EO, Y_PRED_EO, sensitive_features=GROUPS_EO)
    assert theirs == pytest.approx(2 / 3)  # TPR: a 2/3, b 1/2, c "0"; FPR: a 1/2, b 0, c 1/2
    assert ours == pytest.approx(0.5)  # the FPR gap; the TPR gap without c is 1/6
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    migration = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
    for page in (readme, migration):
        assert "fairlearn gives 0.667 and fairwatch 0.5" in page
    # every group with positives: the same number as fairlearn
    keep = GROUPS_EO != "c"
    y_true, y_pred, groups = Y_TRUE_EO[keep], Y_PRED_EO[keep], GROUPS_EO[keep]
    assert fm.equalized_odds_difference(y_true, y_pred, sensitive_features=groups) == pytest.approx(
        fl.equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
    )


def test_the_readme_lists_the_differences() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "### Differences from fairlearn" in readme
