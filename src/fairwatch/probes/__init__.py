"""Probes: ask a model direct questions about how it treats people.

* :func:`counterfactual_flip`: set each row's sensitive attribute (and optionally its proxies)
  to every other value and count the decisions that change, per pair of groups, with intervals;
* :func:`what_if`: change features of one row and compare prediction, score and (with a
  post-processor) the group's thresholds before and after.

Results have ``title``, ``description``, ``to_frame()`` and ``to_dict()`` (JSON-safe), so reports
render them as sections and the service returns them as JSON. ``counterfactual_flip``'s table
comes back in the library ``X`` came in (pandas, Polars or pyarrow); ``what_if``'s is a two-row
pandas table indexed by ``state``.
"""

from fairwatch.probes._counterfactual import CounterfactualFlipResult, counterfactual_flip
from fairwatch.probes._what_if import WhatIfResult, what_if

__all__ = ["CounterfactualFlipResult", "WhatIfResult", "counterfactual_flip", "what_if"]
