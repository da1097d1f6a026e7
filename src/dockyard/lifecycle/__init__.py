"""What users call across tracking and the registry (layer 5): the :class:`~dockyard.lifecycle.client.Client`,
the fluent API, logging and loading models, model-URI resolution and its cache, version diffs."""
