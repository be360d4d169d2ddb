"""Every class of bad input gets an error (or warning) that names the problem and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch.exceptions import (
    ExpressionError,
    FairwatchWarning,
    InvalidInputError,
    LabelError,
    LengthMismatchError,
    MissingValueError,
    UndefinedMetricWarning,
    UnknownColumnError,
    UnknownMetricError,
)

Y = [1, 0, 1, 0, 1, 0]
P = [1, 0, 0, 0, 1, 1]
G = ["a", "a", "a", "b", "b", "b"]


def test_mismatched_lengths_name_every_argument() -> None:
    with pytest.raises(LengthMismatchError, match=r"y_true has 6, y_pred has 5.*sensitive feature"):
        fw.audit(Y, P[:5], sensitive_features=G)


def test_mismatched_sensitive_length() -> None:
    with pytest.raises(LengthMismatchError, match=r"sensitive feature 'sensitive_feature_0' has 4"):
        fw.audit(Y, P, sensitive_features=G[:4])


def test_empty_input() -> None:
    with pytest.raises(InvalidInputError, match=r"the input is empty \(0 rows\)"):
        fw.audit([], [], sensitive_features=[])


def test_nan_in_labels() -> None:
    with pytest.raises(MissingValueError, match=r"y_true has 1 missing value\(s\) \(NaN/null\) at row\(s\) 2"):
        fw.audit([1.0, 0.0, np.nan, 0.0], [1, 0, 1, 0], sensitive_features=["a", "a", "b", "b"])


def test_nan_in_predictions() -> None:
    with pytest.raises(MissingValueError, match=r"y_pred has 2 missing value\(s\).*row\(s\) 0, 3"):
        fw.audit([1, 0, 1, 0], [np.nan, 0, 1, np.nan], sensitive_features=["a", "a", "b", "b"])


def test_nan_in_sensitive_column_suggests_a_category() -> None:
    with pytest.raises(MissingValueError, match=r"sensitive feature 'race' has 1 missing.*'unknown'"):
        fw.audit(Y, P, sensitive_features=pd.DataFrame({"race": ["a", None, "a", "b", "b", "b"]}))


def test_null_in_polars_sensitive_column() -> None:
    pl = pytest.importorskip("polars")
    with pytest.raises(MissingValueError, match=r"sensitive feature 'sex' has 1 missing value"):
        fw.audit(Y, P, sensitive_features=pl.DataFrame({"sex": ["F", "F", None, "M", "M", "M"]}))


def test_nan_in_scores() -> None:
    with pytest.raises(MissingValueError, match=r"scores has 1 missing value.*every row needs a score"):
        fw.audit(Y, P, sensitive_features=G, scores=[0.1, 0.2, np.nan, 0.4, 0.5, 0.6])


def test_non_binary_labels_for_binary_metrics() -> None:
    with pytest.raises(LabelError, match=r"binary metrics need two classes, but y_pred has 3 distinct values"):
        fw.audit([1, 0, 1], ["x", "y", "z"], sensitive_features=["a", "b", "b"], metrics=["accuracy"])


def test_non_binary_numeric_labels_with_binary_metric() -> None:
    with pytest.raises(LabelError, match=r"y_true has 3 distinct values \[0, 1, 2\].*threshold"):
        fw.audit([0, 1, 2, 1], [0, 1, 1, 1], sensitive_features=["a", "a", "b", "b"], metrics=["tpr"])


def test_string_labels_need_pos_label() -> None:
    with pytest.raises(LabelError, match=r"cannot tell which label is positive.*pass pos_label="):
        fw.audit(["no", "yes"], ["yes", "yes"], sensitive_features=["a", "b"], metrics=["selection_rate"])


def test_unknown_pos_label() -> None:
    with pytest.raises(LabelError, match=r"pos_label='maybe' is not one of the labels \['no', 'yes'\]"):
        fw.audit(["no", "yes"], ["yes", "no"], sensitive_features=["a", "b"], pos_label="maybe")


def test_group_without_positives_gives_nan_and_a_warning() -> None:
    with pytest.warns(
        UndefinedMetricWarning,
        match=r"true_positive_rate is undefined for group "
        r"sensitive_feature_0=b: it has no rows with y_true equal to the positive label",
    ):
        audit = fw.audit(  # two-row groups on purpose (min_group_size=0): the warning is what is tested
            [1, 1, 0, 0],
            [1, 0, 0, 1],
            sensitive_features=["a", "a", "b", "b"],
            metrics=["true_positive_rate"],
            min_group_size=0,
        )
    assert np.isnan(audit.summary.values["true_positive_rate"][1])
    assert audit.to_dict()["groups"][1]["metrics"]["true_positive_rate"]["value"] is None


def test_single_class_in_y_true_warns_for_every_group() -> None:
    with pytest.warns(UndefinedMetricWarning) as record:
        fw.audit([0, 0, 0, 0], [1, 0, 0, 1], sensitive_features=["a", "a", "b", "b"], metrics=["tpr"], min_group_size=0)
    assert len([w for w in record if "true_positive_rate is undefined" in str(w.message)]) == 2


def test_single_group() -> None:
    with pytest.raises(InvalidInputError, match=r"hold a single group \(sensitive_feature_0=a\).*at least two groups"):
        fw.audit([1, 0], [1, 0], sensitive_features=["a", "a"])


def test_unknown_metric_suggests_close_names() -> None:
    with pytest.raises(UnknownMetricError, match=r"unknown metric 'selction_rate'; did you mean 'selection_rate'"):
        fw.audit(Y, P, sensitive_features=G, metrics=["selction_rate"])


def test_unknown_column() -> None:
    df = pd.DataFrame({"y": Y, "p": P, "sex": G})
    with pytest.raises(
        UnknownColumnError,
        match=r"sensitive_features='race' is not a column of data; "
        r"available columns: 'y', 'p', 'sex'",
    ):
        fw.audit("y", "p", sensitive_features="race", data=df)


def test_column_name_without_data() -> None:
    with pytest.raises(InvalidInputError, match=r"y_true='label' is a column name but no data= was given"):
        fw.audit("label", P, sensitive_features=G)


def test_unparseable_check_expression() -> None:
    audit = fw.audit(Y, P, sensitive_features=G)
    with pytest.raises(ExpressionError, match=r"cannot parse check 'demographic parity > 0.8'.*<name> <op> <number>"):
        audit.check("demographic parity > 0.8")


def test_check_with_unknown_name() -> None:
    audit = fw.audit(Y, P, sensitive_features=G)
    with pytest.raises(ExpressionError, match=r"unknown metric 'bogus'"):
        audit.check("bogus_ratio >= 0.8")


def test_check_needing_an_uncomputed_metric() -> None:
    audit = fw.audit(Y, P, sensitive_features=G, metrics=["accuracy"])
    with pytest.raises(ExpressionError, match=r"needs the demographic_parity disparity.*add the metrics"):
        audit.check("demographic_parity_ratio >= 0.8")


def test_two_dimensional_label_array() -> None:
    with pytest.raises(InvalidInputError, match=r"y_pred must be one-dimensional.*shape \(3, 2\)"):
        fw.audit([1, 0, 1], np.zeros((3, 2)), sensitive_features=["a", "b", "b"])


def test_negative_weights() -> None:
    with pytest.raises(InvalidInputError, match=r"sample_weight must be finite and non-negative; row 1 has -1.0"):
        fw.audit([1, 0], [1, 0], sensitive_features=["a", "b"], sample_weight=[1.0, -1.0])


def test_probability_metrics_need_probabilities() -> None:
    with pytest.raises(InvalidInputError, match=r"brier_score need scores that are probabilities in \[0, 1\]"):
        fw.audit([1, 0], [1, 0], sensitive_features=["a", "b"], scores=[2.0, -1.0], metrics=["brier_score"])


def test_score_metric_without_scores() -> None:
    with pytest.raises(InvalidInputError, match=r"roc_auc need scores="):
        fw.audit(Y, P, sensitive_features=G, metrics=["roc_auc"])


def test_missing_sensitive_features() -> None:
    with pytest.raises(InvalidInputError, match=r"sensitive_features is required"):
        fw.audit(Y, P, sensitive_features=None)


def test_non_numeric_regression_labels() -> None:
    with pytest.raises(InvalidInputError, match=r"y_true must be numeric"):
        fw.audit(["a", "b", "c"], [1.0, 2.0, 3.0], sensitive_features=["x", "y", "y"], metrics=["mae"])


def test_min_group_size_must_be_a_count() -> None:
    with pytest.raises(InvalidInputError, match=r"min_group_size must be a non-negative integer; got -3"):
        fw.audit(Y, P, sensitive_features=G, min_group_size=-3)


def test_every_group_suppressed_warns_that_disparity_is_undefined() -> None:
    with pytest.warns(FairwatchWarning, match=r"selection_rate disparity is undefined: fewer than two groups"):
        audit = fw.audit(Y, P, sensitive_features=G, metrics=["selection_rate"], min_group_size=10)
    assert audit.to_dict()["suppressed_share"] == 1.0


def test_unknown_reference_group() -> None:
    with pytest.raises(InvalidInputError, match=r"group \('zz',\) is not in these statistics; known groups"):
        fw.audit(Y, P, sensitive_features=G, reference="zz")


def test_bad_data_argument() -> None:
    with pytest.raises(InvalidInputError, match=r"data must be a dataframe.*got int"):
        fw.audit("y", "p", sensitive_features="g", data=3)
