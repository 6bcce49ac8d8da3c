#!/usr/bin/env bash
# Writes the input data into the shared run directory.
set -euo pipefail
echo "# cloudmesh status=running progress=10 pid=$$"
seq 1 3000 > numbers.txt
echo "# cloudmesh status=running progress=100 pid=$$"
