"""The ``fairwatch`` command line (typer + rich): one module per command group.

``_app`` holds the application, the audit, compare, metrics and demo commands and the entry point;
``_monitor``, ``_rollups``, ``_stream``, ``_report`` and ``_model`` add their command groups;
``_input`` reads tables and ``_output`` writes results; ``_demo`` and ``_demo_monitor`` are the demo;
``_render`` draws rich tables.
"""

from fairwatch.cli._app import app, main
from fairwatch.cli._input import read_table

__all__ = ["app", "main", "read_table"]
