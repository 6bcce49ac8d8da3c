"""Adds the partial sums and checks them against the full sum."""

total = sum(int(open(f"sum{part}.txt").read()) for part in (1, 2, 3))
expected = sum(int(line) for line in open("numbers.txt"))
print(f"total={total} expected={expected}")
with open("result.txt", "w") as out:
    out.write(f"{total}\n")
raise SystemExit(0 if total == expected else 1)
