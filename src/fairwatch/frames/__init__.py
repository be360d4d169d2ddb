"""The dataframe layer, the lowest one: reading columns of any dataframe library through narwhals
(``_columns``) and encoding groups and labels (``_encode``). It imports nothing else of the package
but its types and exceptions. The metrics build on it, in-engine aggregation included
(:mod:`fairwatch.metrics._engines`). Everything here is private; the public entry points are
:func:`fairwatch.audit` and :func:`fairwatch.metrics.group_stats`."""
