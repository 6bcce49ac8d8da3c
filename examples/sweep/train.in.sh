#!/usr/bin/env bash
# Rendered once per job: {epochs}, {gpu}, {lr}, {project.name} are already filled in here.
# It runs in the run directory; this job's own directory is $HF_OUTPUT_DIR ({output_dir}).
set -euo pipefail
echo "training {project.name} for {epochs} epoch(s) on {gpu}, lr={lr}, args: $*"
total=$(awk '{{s += $1}} END {{print s}}' data.txt)   # {{ }} are literal braces
for epoch in $(seq 1 {epochs}); do
  echo "# hybridflow progress=$(( 100 * epoch / {epochs} )) message='epoch $epoch'"
  sleep 0.2
done
score=$(( total / 100 * {epochs} ))
printf 'epochs=%s gpu=%s score=%s\n' {epochs} {gpu} "$score" > "$HF_OUTPUT_DIR/result.txt"
