#!/bin/sh
# The CI pipeline on this machine, against a local store: a first candidate becomes champion, a better
# one replaces it, a deliberately degraded one is stopped by the gate (exit 1) with the failed rule shown.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
store=${1:-./ci-store}
python "$here/pipeline.py" --tracking-uri "$store" --summary summary-1.md
if python "$here/pipeline.py" --tracking-uri "$store" --summary summary-2.md --degrade; then
    echo "the degraded candidate was promoted: the gate did not hold" >&2
    exit 1
fi
echo "the degraded candidate was stopped; see summary-2.md"
dockyard models history ci-churn --tracking-uri "$store"
