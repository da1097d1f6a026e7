"""Drop Dockyard's own entry from pip-compile output (its extras refer to it, so pip-compile lists it as
``dockyard @ file:///...``, which cannot be hash-checked): the warning above it, the line, and the
``# via`` comment lines under it. The lock holds only Dockyard's dependencies."""

import sys

for path in sys.argv[1:]:
    kept: list[str] = []
    in_self = False
    with open(path) as f:
        for line in f:
            if line.startswith(("# WARNING: pip install will require", "# Consider using a hashable URL")):
                continue
            if line.startswith("dockyard @ "):
                in_self = True
                continue
            if in_self and line.startswith("    #"):
                continue
            in_self = False
            kept.append(line)
    with open(path, "w") as f:
        f.writelines(kept)
