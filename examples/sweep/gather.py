"""Collects the result of every job of the `train` sweep into summary.csv."""

import csv
import glob

rows = []
for path in sorted(glob.glob("train/*/*/result.txt")):
    with open(path) as handle:
        rows.append(dict(pair.split("=", 1) for pair in handle.read().split()))
with open("summary.csv", "w", newline="") as out:
    writer = csv.DictWriter(out, fieldnames=["epochs", "gpu", "score"])
    writer.writeheader()
    writer.writerows(rows)
print(f"gathered {len(rows)} results into summary.csv")
