"""The shared kernel (layer 1): errors, settings, the clock, paging, the search grammar, validation
primitives, wire helpers, the HTTP transport and the caller's identity. It imports nothing else of
Dockyard, so every other layer may use it."""
