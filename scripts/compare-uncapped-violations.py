#!/usr/bin/env python3
"""Checks that two builds of `watermark` differ only where the old violation cap cut a list.

Before issue 8, each checker reported at most 20 violations per run plus one summary
pseudo-violation ("... and N more"): 21 records. Issue 8 removed the cap. This script runs
`sweep --json` over every catalogue scenario and examples/*.toml with both builds and
asserts, seed by seed: the same observed guarantee and verdict; for every checker, the same
number of violations, except where the old build reported exactly 21 (the cap), where the
new one must report at least 21.

Usage: compare-uncapped-violations.py BEFORE_BIN AFTER_BIN SEEDS   (SEEDS as `A..B`)
Exit 0 when there is no other difference, 1 otherwise.
"""
import collections
import glob
import json
import os
import subprocess
import sys

CAPPED_COUNT = 21


def targets(binary):
    listed = subprocess.run([binary, "list"], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in listed.splitlines() if line.strip() and not line.startswith(" ")]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return names + sorted(glob.glob(os.path.join(root, "examples", "*.toml")))


def runs(binary, target, seeds):
    out = subprocess.run(
        [binary, "sweep", target, "--seeds", seeds, "--json", "--jobs", "2"],
        capture_output=True, text=True,
    ).stdout
    result = {}
    for line in out.splitlines():
        record = json.loads(line)
        if "seed" in record and "violations" in record:
            counts = collections.Counter(v["checker"] for v in record["violations"])
            result[record["seed"]] = (record["observed"], record["passed"], counts)
    return result


def main():
    before, after, seeds = sys.argv[1:4]
    differences = checked = grew = 0
    names = targets(after)
    for target in names:
        old, new = runs(before, target, seeds), runs(after, target, seeds)
        for seed, (observed, passed, counts) in old.items():
            checked += 1
            new_observed, new_passed, new_counts = new[seed]
            if (observed, passed) != (new_observed, new_passed):
                differences += 1
                print(f"verdict differs: {target} seed {seed}")
                continue
            for checker in set(counts) | set(new_counts):
                if counts[checker] == CAPPED_COUNT and new_counts[checker] >= CAPPED_COUNT:
                    grew += 1
                elif counts[checker] != new_counts[checker]:
                    differences += 1
                    print(f"count differs: {target} seed {seed} {checker} "
                          f"{counts[checker]} -> {new_counts[checker]}")
    print(f"checked {checked} runs over {len(names)} targets; {grew} capped lists grew; "
          f"{differences} other differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
