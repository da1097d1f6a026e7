"""The UI's pages, one module per area; each lists its routes as ``ROUTES = [(method, path, view), ...]``
(views take a :class:`~dockyard.server.ui.page.UIRequest`), and ``NEEDS_REGISTRY = True`` when they are
served only with a model registry."""
