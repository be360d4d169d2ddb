"""Integrations with tools around fairwatch.

* :mod:`fairwatch.integrations.mlflow`: log an audit's metrics, disparities and report to an MLflow
  run (``pip install 'fairwatch[mlflow]'``).

Each integration is imported on use, so importing this package needs none of them.
"""

__all__: list[str] = []
