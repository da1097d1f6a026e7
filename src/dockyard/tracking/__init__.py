"""Experiment tracking: entities, store, service, client, fluent API, background logger."""
