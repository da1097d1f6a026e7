"""The tracking server (layer 7): ``create_app(settings, *, tracking, registry)``, the MLflow REST API
(``api/``), the artifact proxy and, later, the web UI and auth."""
