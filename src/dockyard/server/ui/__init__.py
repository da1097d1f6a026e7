"""The web UI: server-rendered pages over the same services the REST API calls (one data path, two renderings).

- :mod:`.routes`: what ``create_app`` mounts at ``/`` (the pages of :mod:`.pages`, ``/static``, sign-in).
- :mod:`.page`: :class:`~.page.UIRequest` and the :func:`~.page.page` decorator every view goes through
  (the signed-in user, permission checks, CSRF on POST, flash messages, HTML error pages).
- :mod:`.templating`: the Jinja2 environment (autoescaped) and the Content-Security-Policy of the pages.
- :mod:`.session`: the sign-in cookie (an API token) and the CSRF tokens derived from it.
- :mod:`.pages`: one module per area (``experiments``, ``runs``, ``compare``, ``auth``, ``models``), each
  with a ``ROUTES`` list; templates in ``templates/<area>/``.
- ``static/``: the UI's own CSS and JavaScript, and ``vendor/`` (htmx, uPlot, ECharts; see its README).
"""
