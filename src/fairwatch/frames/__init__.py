"""The dataframe layer, below the metrics: reading columns of any dataframe library through narwhals
(``_columns``), encoding groups and labels (``_encode``), and aggregating lazy frames to per-group
statistics inside their engine, Polars, DuckDB or Spark (``_engines``). Everything here is private;
the public entry points are :func:`fairwatch.audit` and :func:`fairwatch.metrics.group_stats`."""
