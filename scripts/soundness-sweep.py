#!/usr/bin/env python3
"""Soundness sweep (issue 13): run every safe catalogue scenario over many seeds and count
false alarms. Standard library only.

A *safe* scenario is one `watermark list` shows promising at-least-once or exactly-once;
the catalogue turns no bug switch on in those. On such a scenario a failing seed is
- a **false alarm** when the verdict failed for anything but a demonstration's expectation
  going unmet: a checker the scenario does not expect fired, the guarantee came out weaker
  than promised, or the run panicked. Every false alarm is a checker or model bug;
- a **demonstration miss** when the only reasons are an expected anomaly not observed or a
  coverage mark not reached (some safe scenarios demonstrate a duplicate, say, on most but
  not every seed). Misses are listed, not counted as false alarms.

Each scenario runs as one `watermark sweep NAME --seeds 0..N --jobs J --json` process, read
line by line (nothing is held per seed), under `/usr/bin/time -f %M` for its peak resident
memory, so the same run measures whether memory stays flat with the seed count.

Usage:
  scripts/soundness-sweep.py [--binary PATH] [--seeds N] [--jobs J]
                             [--scenario NAME ...] [--seeds-for NAME=N ...] [--json]
`--seeds-for` gives one scenario its own count (the slow group and transaction scenarios);
the output is one line per scenario and a total, and the exit code is 1 if any false alarm
was found, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from watermark_scripts import parse_list_output  # noqa: E402

SAFE_GUARANTEES = {"at-least-once", "exactly-once"}
MISS_MARKERS = ("was not observed", "was never reached")


def safe_scenarios(binary: str) -> list[str]:
    """The catalogue scenarios `watermark list` shows promising at-least-once or better."""
    listing = subprocess.run([binary, "list"], check=True, capture_output=True, text=True)
    names = set(parse_list_output(listing.stdout))
    safe = []
    for line in listing.stdout.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in names and words[1] in SAFE_GUARANTEES:
            safe.append(words[0])
    return safe


def classify(run: dict) -> str:
    """`pass`, `miss` or `false-alarm` for one seed's JSON line."""
    if run.get("panic"):
        return "false-alarm"
    if run.get("passed"):
        return "pass"
    reasons = run.get("failures") or []
    if reasons and all(any(marker in reason for marker in MISS_MARKERS) for reason in reasons):
        return "miss"
    return "false-alarm"


def sweep(binary: str, name: str, seeds: int, jobs: int) -> dict:
    """Runs one scenario's sweep and tallies it."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as rss:
        command = ["/usr/bin/time", "-f", "%M", "-o", rss.name,
                   binary, "sweep", name, "--seeds", f"0..{seeds}", "--jobs", str(jobs), "--json"]
        started = time.monotonic()
        tally = {"scenario": name, "seeds": seeds, "pass": 0, "miss": 0, "false-alarm": 0,
                 "false_alarm_seeds": [], "miss_seeds": [], "checkers": {}}
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None
            for line in process.stdout:
                run = json.loads(line)
                if run.get("kind") == "sweep-summary":
                    tally["checkers"] = run.get("violations_by_checker", {})
                    continue
                verdict = classify(run)
                tally[verdict] += 1
                if verdict == "false-alarm" and len(tally["false_alarm_seeds"]) < 20:
                    tally["false_alarm_seeds"].append((run["seed"], run.get("failures")))
                if verdict == "miss" and len(tally["miss_seeds"]) < 5:
                    tally["miss_seeds"].append(run["seed"])
        if process.returncode not in (0, 1):
            raise SystemExit(f"error: `{' '.join(command[5:])}` exited {process.returncode}")
        tally["wall_s"] = round(time.monotonic() - started, 1)
        tally["max_rss_kib"] = int(Path(rss.name).read_text().split()[-1])
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default="target/release/watermark")
    parser.add_argument("--seeds", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--scenario", action="append", default=[])
    parser.add_argument("--seeds-for", action="append", default=[])
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    if arguments.seeds < 1 or arguments.jobs < 1:
        parser.error("--seeds and --jobs must be at least 1")
    overrides = {}
    for item in arguments.seeds_for:
        name, _, count = item.partition("=")
        if not count.isdigit() or int(count) < 1:
            parser.error(f"--seeds-for must be NAME=N with N >= 1, got {item!r}")
        overrides[name] = int(count)
    safe = safe_scenarios(arguments.binary)
    chosen = arguments.scenario or safe
    for name in chosen + list(overrides):
        if name not in safe:
            parser.error(f"{name!r} is not a safe catalogue scenario; safe ones: {', '.join(safe)}")
    false_alarms = 0
    for name in chosen:
        tally = sweep(arguments.binary, name, overrides.get(name, arguments.seeds), arguments.jobs)
        false_alarms += tally["false-alarm"]
        if arguments.json:
            print(json.dumps(tally), flush=True)
        else:
            print(f"{name:55} seeds {tally['seeds']:>7}  false alarms {tally['false-alarm']:>3}  "
                  f"misses {tally['miss']:>4}  max RSS {tally['max_rss_kib'] // 1024:>4} MiB  "
                  f"wall {tally['wall_s']:>7} s", flush=True)
            for seed, reasons in tally["false_alarm_seeds"]:
                print(f"    false alarm: seed {seed}: {reasons}", flush=True)
    print(f"total: {len(chosen)} scenarios, {false_alarms} false alarms", flush=True)
    return 1 if false_alarms else 0


if __name__ == "__main__":
    sys.exit(main())
