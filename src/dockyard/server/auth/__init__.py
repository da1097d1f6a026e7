"""Authentication and permissions for ``dockyard server --auth``, compatible with MLflow's basic-auth app.

- :mod:`.entities`: users, tokens and MLflow's permission levels (READ, EDIT, MANAGE, NO_PERMISSIONS).
- :mod:`.store`: the SQL store of users, grants and API tokens (tables of migration 0005).
- :mod:`.service`: :class:`AuthService`: sign-in (Basic and bearer tokens), users, grants, tokens.
- :mod:`.policy`: what every endpoint requires of the caller, and which search results they may see.
- :mod:`.middleware`: the ASGI middleware that authenticates each request.
- :mod:`.api`: MLflow's user and permission REST API, so ``AuthServiceClient`` works unchanged.
"""
