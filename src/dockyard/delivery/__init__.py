"""Model delivery: validation before a promotion, and monitoring after it.

- :mod:`~dockyard.delivery.validation`: ``dockyard validate`` / ``dockyard.validate``: metrics, latency,
  data checks and rules for one model version, recorded in the registry (whose gates enforce them).
- :mod:`~dockyard.delivery.evaluation`: ``dockyard.evaluate``, with ``mlflow.evaluate``'s arguments.
- :mod:`~dockyard.delivery.monitor`: ``dockyard monitor``: drift of served inputs and predictions
  against the training profile, live performance, alarms and rollback.

The gates themselves live in the registry (:mod:`dockyard.registry.gates`), so the server enforces them
whichever client asks; this package computes the evidence. Heavy libraries (pandas, scikit-learn, SciPy)
are imported inside the functions that use them.
"""
