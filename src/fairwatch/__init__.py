"""fairwatch: measure, mitigate and monitor the fairness of machine-learning models.

>>> import fairwatch as fw
>>> audit = fw.audit(y_true, y_pred, sensitive_features=df[["sex", "race"]], ci=0.95)  # doctest: +SKIP
"""

from fairwatch import exceptions, metrics
from fairwatch._audit import Audit, audit
from fairwatch._audit_model import ModelAudit, audit_model
from fairwatch._checks import CheckResult
from fairwatch._torch_adapter import TorchModelAdapter
from fairwatch._version import __version__
from fairwatch.metrics import DEFAULT_MIN_GROUP_SIZE, GroupStats, group_stats

__all__ = [
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
]
