"""REST handlers, one module per resource. Each handler parses, makes one service call, encodes."""
