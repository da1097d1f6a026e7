"""The model registry: registered models, their versions, aliases and stages, and an audit history.

Same shape as :mod:`dockyard.tracking`: ``entities`` (frozen dataclasses), ``store`` (the persistence
Protocol) with its SQL implementation, ``service`` (validation and rules), ``wire`` (MLflow's
protobuf-JSON), ``remote`` (the HTTP client with the service's surface) and ``backends``
(:func:`~dockyard.registry.backends.open_registry`).
"""
