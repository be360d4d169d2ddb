"""The public namespaces export exactly what they promise (a change here is an API change)."""

from __future__ import annotations

import fairwatch
import fairwatch.datasets
import fairwatch.exceptions
import fairwatch.metrics


def test_top_level_exports() -> None:
    assert set(fairwatch.__all__) == {
        "DEFAULT_MIN_GROUP_SIZE",
        "Audit",
        "CheckResult",
        "GroupStats",
        "ModelAudit",
        "TorchModelAdapter",
        "__version__",
        "audit",
        "audit_model",
        "exceptions",
        "group_stats",
        "metrics",
    }
    for name in fairwatch.__all__:
        assert hasattr(fairwatch, name)


def test_metrics_exports() -> None:
    fairlearn_names = {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
        "equal_opportunity_ratio",
    }
    assert fairlearn_names <= set(fairwatch.metrics.__all__)
    assert {"GroupStats", "group_stats", "summarize", "get_metric", "list_metrics", "register_metric"} <= set(
        fairwatch.metrics.__all__
    )
    for name in fairwatch.metrics.__all__:
        assert hasattr(fairwatch.metrics, name)


def test_exceptions_hierarchy() -> None:
    from fairwatch.exceptions import FairwatchError

    for name in fairwatch.exceptions.__all__:
        cls = getattr(fairwatch.exceptions, name)
        if name.endswith("Warning"):
            assert issubclass(cls, UserWarning)
        else:
            assert issubclass(cls, FairwatchError), name
    assert issubclass(fairwatch.exceptions.InvalidInputError, ValueError)
    assert issubclass(fairwatch.exceptions.UnknownMetricError, KeyError)
    assert issubclass(fairwatch.exceptions.MissingDependencyError, ImportError)


def test_datasets_exports() -> None:
    assert set(fairwatch.datasets.__all__) == {"ADULT_COLUMNS", "adult_path", "load_adult"}


def test_package_imports_no_peer_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, fairwatch, fairwatch.metrics, fairwatch.cli; "
        "bad = [m for m in ('fairlearn', 'aif360', 'sklearn') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_mitigation_exports() -> None:
    import fairwatch.mitigation

    assert set(fairwatch.mitigation.__all__) == {
        "AdversarialDebiasingClassifier",
        "BoundedGroupLoss",
        "CalibratedEqualizedOdds",
        "Constraint",
        "CorrelationRemover",
        "DemographicParity",
        "EqualizedOdds",
        "ErrorRateParity",
        "ExponentiatedGradient",
        "FairnessRegularizedClassifier",
        "FalsePositiveRateParity",
        "GridSearch",
        "ModelComparison",
        "Objective",
        "ParetoFront",
        "RejectOptionClassifier",
        "Reweighing",
        "ThresholdOptimizer",
        "TruePositiveRateParity",
        "compare_models",
        "demographic_parity_penalty",
        "equalized_odds_penalty",
        "pareto_front",
        "reweighing_weights",
    }
    for name in fairwatch.mitigation.__all__:
        assert hasattr(fairwatch.mitigation, name)


def test_probes_exports() -> None:
    import fairwatch.probes

    expected = {"CounterfactualFlipResult", "WhatIfResult", "counterfactual_flip", "what_if"}
    assert set(fairwatch.probes.__all__) == expected
    for name in fairwatch.probes.__all__:
        assert hasattr(fairwatch.probes, name)


def test_cli_keeps_its_import_paths() -> None:
    """The command line is a package now (one module per command group); its public names stay."""
    import fairwatch.cli
    from fairwatch.cli import app, main, read_table

    assert set(fairwatch.cli.__all__) == {"app", "main", "read_table"}
    assert callable(main) and callable(read_table) and app.info.name == "fairwatch"
