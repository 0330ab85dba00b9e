#!/usr/bin/env python3
"""Which checker finds which planted bug, and how fast.

Each file scripts/planted-bugs/NN-name.patch plants one small mistake in broker-core (see
scripts/planted-bugs/README.md). For each patch this script:

  1. checks out HEAD in a temporary git worktree (target/planted-wt/tree), reset to HEAD
     before every patch, and applies the patch with `git apply` (a patch that no longer
     applies is reported as such, and the script exits 2 at the end);
  2. builds the release binary with one shared CARGO_TARGET_DIR (target/planted), so that
     only the workspace crates are rebuilt from one patch to the next;
  3. runs `watermark sweep <scenario> --seeds A..B --json` for every chosen scenario and
     records, per bug: caught or not, by what (the checkers whose violations make a run fail,
     a panic, or only the scenario's expectation), and per scenario the first failing seed,
     the number of failing seeds, and the seeds and wall seconds until the first catch.

The unpatched tree runs first as the control: every one of its runs must pass, otherwise a
failure of a patched run could not be blamed on the patch (the script then stops, exit 2).

What a failing run is credited to. A run fails when `passed` is false. Its failure lines
("invariant X violated", "expected G, observed H", "expected anomaly X was not observed",
"coverage mark X was never reached", "the run panicked: ...") say why. Credited are:
  - every checker named in an "invariant X violated" line;
  - when the guarantee verdict failed, every checker with a violation in this run that the
    control's run of the same seed did not report (the client-history checkers whose
    anomalies lowered the verdict; catalogue scenarios that expect a weaker guarantee
    report some anomalies on correct code too);
  - `panic` for a run that panicked (an assertion in the broker or the world caught it);
  - otherwise `expectation` (the scenario's expected anomaly or coverage mark was not
    reached: the bug changed the run, but no checker objected).
A bug counts as caught by a checker when some failing run credits a checker or `panic`.

"Seeds until the first catch" counts the seeds of that scenario's range up to and including
the first failing one; "wall seconds" adds the `wall_ms` of those runs (the time a one-job
sweep of that scenario takes to find it, builds excluded). The bug's headline figure is the
scenario with the smallest wall seconds.

Output: target/planted-study/<HEAD short sha>.json, and a Markdown table on stdout, ready for
BENCHMARKS.md. Progress goes to stderr. Worktrees are removed at the end and on Ctrl-C.

Scenarios (`--scenarios`, comma-separated): a catalogue name, optionally `NAME:A..B` for its
own seed range; `all` stands for every scenario `watermark list` prints. Other scenarios use
`--seeds`. Default: `all` with `--seeds 0..50`.

Examples:
  nice -n 10 scripts/planted-bug-study.py --scenarios safe-acks-all-swarm:0..200,all --seeds 0..20
  scripts/planted-bug-study.py --bugs 04,07 --scenarios safe-acks-all-swarm --seeds 0..2000 --jobs 2
  scripts/planted-bug-study.py --report target/planted-study/*.json   # table only, merged
  scripts/planted-bug-study.py --self-test

Exit codes: 0 the study ran (caught or not); 2 usage error, a patch that does not apply or
does not build, an unusable sweep, or a control that is not clean.

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from watermark_scripts import cargo_environment, parse_list_output
from watermark_scripts import parse_seed_range as parse_seed_range_raising

PATCH_DIRECTORY = Path("scripts") / "planted-bugs"
WORKTREE = Path("target") / "planted-wt" / "tree"
TARGET_DIRECTORY = Path("target") / "planted"
RESULTS_DIRECTORY = Path("target") / "planted-study"
CONTROL = "control"
PANIC = "panic"
EXPECTATION = "expectation"


class StudyError(Exception):
    """The study cannot go on (or a bug cannot be studied): printed, exit 2."""


def parse_seed_range(text: str) -> tuple[int, int]:
    """`N`, `A..B` (B excluded) or `A..=B` as the half-open (A, B); a malformed range is a
    StudyError."""
    return parse_seed_range_raising(text, StudyError)


def log(message: str) -> None:
    print(f"[planted] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------


def parse_scenario_spec(text: str) -> list[tuple[str, tuple[int, int] | None]]:
    """`a,b:0..200,all` as [(name, range or None)], in the order given."""
    specs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, seeds = item.partition(":")
        specs.append((name, parse_seed_range(seeds) if seeds else None))
    if not specs:
        raise StudyError("--scenarios names no scenario")
    return specs


def resolve_scenarios(specs, catalogue: list[str], default_seeds) -> dict:
    """Scenario -> seed range. `all` adds every catalogue scenario not named explicitly; an
    explicit range wins over `all`'s. Order: as given, `all` expanded in catalogue order."""
    explicit = {name: seeds for name, seeds in specs if name != "all"}
    resolved: dict = {}
    for name, seeds in specs:
        names = catalogue if name == "all" else [name]
        for scenario in names:
            if scenario not in catalogue:
                raise StudyError(f"{scenario!r} is not a catalogue scenario ({', '.join(catalogue)})")
            if scenario in resolved:
                continue
            chosen = explicit.get(scenario) if scenario in explicit else seeds
            resolved[scenario] = chosen or default_seeds
    return resolved


def find_patches(repo: Path, wanted: list[str] | None) -> list[Path]:
    """The patches, in file order; `wanted` selects by number (`07`) or name (with or
    without the number and `.patch`)."""
    patches = sorted((repo / PATCH_DIRECTORY).glob("*.patch"))
    if not patches:
        raise StudyError(f"no patches in {repo / PATCH_DIRECTORY}")
    if not wanted:
        return patches
    chosen = []
    for want in wanted:
        matches = [
            patch for patch in patches
            if patch.stem == want or patch.name == want
            or patch.stem.split("-", 1)[0] == want
            or patch.stem.split("-", 1)[-1] == want
        ]
        if len(matches) != 1:
            raise StudyError(f"--bugs {want!r} matches {len(matches)} patches")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen


# ---------------------------------------------------------------------------------------
# Sweep output and its analysis
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    seed: int
    passed: bool
    panicked: bool
    wall_ms: int
    checkers: set
    failures: list


def parse_sweep(text: str, seeds: tuple[int, int]) -> dict:
    """Seed -> Run from `sweep --json` output; every seed of the range must be there."""
    runs = {}
    summary_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise StudyError(f"sweep output line {number} is not JSON ({error}): {line[:120]}")
        kind = value.get("kind")
        if kind == "sweep-summary":
            summary_seen = True
        if kind != "run":
            continue
        try:
            run = Run(
                seed=value["seed"],
                passed=bool(value["passed"]),
                panicked=value.get("panic") is not None,
                wall_ms=int(value.get("wall_ms") or 0),
                checkers={violation["checker"] for violation in value["violations"]},
                failures=[str(failure) for failure in value["failures"]],
            )
        except (KeyError, TypeError) as error:
            raise StudyError(f"a run report lacks {error}: {line[:160]}")
        runs[run.seed] = run
    missing = [seed for seed in range(*seeds) if seed not in runs]
    if missing or not summary_seen:
        raise StudyError(
            f"incomplete sweep output: {len(missing)} seed(s) missing (first {missing[:5]}), "
            f"summary {'present' if summary_seen else 'missing'}"
        )
    return runs


def credit(run: Run, control: Run | None) -> set:
    """What a failing run is credited to (see the module documentation)."""
    credited = set()
    verdict_failed = False
    for failure in run.failures:
        match = re.fullmatch(r"invariant (\S+) violated", failure)
        if match:
            credited.add(match.group(1))
        elif re.match(r"expected \S+, observed ", failure):
            verdict_failed = True
    if verdict_failed:
        baseline = control.checkers if control is not None else set()
        credited |= run.checkers - baseline
    if run.panicked:
        credited.add(PANIC)
    if not credited:
        credited.add(EXPECTATION)
    return credited


@dataclasses.dataclass
class ScenarioOutcome:
    seeds: tuple
    failing_seeds: list
    # Credited name -> failing seeds crediting it.
    credited: dict
    first_failing_seed: int | None
    seeds_until_first: int | None
    wall_s_until_first: float | None
    wall_s_total: float


def analyse(runs: dict, control_runs: dict | None, seeds: tuple) -> ScenarioOutcome:
    failing, credited = [], {}
    wall_ms_so_far, first = 0, None
    wall_until_first = None
    for seed in range(*seeds):
        run = runs[seed]
        wall_ms_so_far += run.wall_ms
        if run.passed:
            continue
        failing.append(seed)
        for name in credit(run, (control_runs or {}).get(seed)):
            credited[name] = credited.get(name, 0) + 1
        if first is None:
            first, wall_until_first = seed, wall_ms_so_far / 1000
    return ScenarioOutcome(
        seeds=seeds,
        failing_seeds=failing,
        credited=dict(sorted(credited.items())),
        first_failing_seed=first,
        seeds_until_first=None if first is None else first - seeds[0] + 1,
        wall_s_until_first=wall_until_first,
        wall_s_total=wall_ms_so_far / 1000,
    )


def detectors(credited: dict) -> list:
    """The names that count as a detection (a checker or a panic, not the expectation)."""
    return sorted(name for name in credited if name != EXPECTATION)


def summarise_bug(outcomes: dict) -> dict:
    """A bug's totals over its scenarios."""
    credited: dict = {}
    for outcome in outcomes.values():
        for name, count in outcome.credited.items():
            credited[name] = credited.get(name, 0) + count
    caught = [name for name, outcome in outcomes.items() if detectors(outcome.credited)]
    fastest = min(
        (name for name in caught),
        key=lambda name: (outcomes[name].wall_s_until_first, name),
        default=None,
    )
    return {
        "caught": bool(detectors(credited)),
        "changed_behaviour": any(outcome.failing_seeds for outcome in outcomes.values()),
        "credited": dict(sorted(credited.items())),
        "scenarios_catching": caught,
        "fastest": None if fastest is None else {
            "scenario": fastest,
            "first_failing_seed": outcomes[fastest].first_failing_seed,
            "seeds_until_first": outcomes[fastest].seeds_until_first,
            "wall_s_until_first": outcomes[fastest].wall_s_until_first,
        },
    }


# ---------------------------------------------------------------------------------------
# Building and sweeping
# ---------------------------------------------------------------------------------------


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    process = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if check and process.returncode != 0:
        raise StudyError(f"git {' '.join(args)} failed: {process.stderr.strip()}")
    return process


class Worktree:
    """One detached worktree of HEAD, reset before each patch; removed by `remove`."""

    def __init__(self, repo: Path, head: str):
        self.repo, self.head, self.path = repo, head, repo / WORKTREE

    def create(self) -> None:
        if self.path.exists():
            log(f"removing a stale worktree {self.path}")
            self.remove()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        git(self.repo, "worktree", "add", "--detach", str(self.path), self.head)

    def reset(self) -> None:
        git(self.path, "reset", "--quiet", "--hard", self.head)
        git(self.path, "clean", "--quiet", "-fd")

    def apply(self, patch: Path) -> None:
        process = git(self.path, "apply", "--whitespace=nowarn", str(patch), check=False)
        if process.returncode != 0:
            raise StudyError(
                f"{patch.name} no longer applies to {self.head[:12]}: {process.stderr.strip()}"
            )

    def remove(self) -> None:
        git(self.repo, "worktree", "remove", "--force", str(self.path), check=False)
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)
        git(self.repo, "worktree", "prune", check=False)


def build(worktree: Worktree, what: str) -> tuple[Path, float]:
    target_dir = worktree.repo / TARGET_DIRECTORY
    command = ["cargo", "build", "--release", "--locked", "--bin", "watermark"]
    log(f"building {what}")
    started = time.monotonic()
    process = subprocess.run(
        command, cwd=worktree.path, env=cargo_environment(target_dir),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    seconds = time.monotonic() - started
    if process.returncode != 0:
        tail = "\n".join(process.stderr.splitlines()[-25:])
        raise StudyError(f"the build of {what} failed (cargo exit {process.returncode}):\n{tail}")
    log(f"built {what} in {seconds:.0f} s")
    return target_dir / "release" / "watermark", seconds


def list_catalogue(binary: Path) -> list[str]:
    process = subprocess.run([str(binary), "list"], capture_output=True, text=True)
    if process.returncode != 0:
        raise StudyError(f"`watermark list` failed: {process.stderr.strip()}")
    names = parse_list_output(process.stdout)
    if not names:
        raise StudyError("`watermark list` printed no scenario")
    return names


def sweep(binary: Path, scenario: str, seeds: tuple, jobs: int) -> dict:
    command = [str(binary), "sweep", scenario, "--seeds", f"{seeds[0]}..{seeds[1]}",
               "--jobs", str(jobs), "--json"]
    process = subprocess.run(command, capture_output=True, text=True)
    # 0: every run passed; 1: some failed; 3: some panicked. Anything else is unusable.
    if process.returncode not in (0, 1, 3):
        raise StudyError(
            f"`{' '.join(command[1:])}` exited {process.returncode}: {process.stderr.strip()[:400]}"
        )
    return parse_sweep(process.stdout, seeds)


def study_tree(binary: Path, scenarios: dict, jobs: int, control: dict | None, what: str):
    """Sweeps every scenario; returns (raw runs, outcomes) by scenario."""
    raw, outcomes = {}, {}
    for scenario, seeds in scenarios.items():
        started = time.monotonic()
        raw[scenario] = sweep(binary, scenario, seeds, jobs)
        outcome = analyse(raw[scenario], None if control is None else control[scenario], seeds)
        outcomes[scenario] = outcome
        log(
            f"{what}: {scenario} {seeds[0]}..{seeds[1]}: "
            f"{len(outcome.failing_seeds)} failing, {time.monotonic() - started:.1f} s"
        )
    return raw, outcomes


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def format_credited(credited: dict) -> str:
    if not credited:
        return "—"
    return ", ".join(f"`{name}` ({count})" for name, count in credited.items())


CATCHING_SHOWN_MAX = 3


def format_catching(names: list, outcomes: dict, scenarios: dict) -> str:
    """The scenarios that caught a bug, with failing / swept seeds: swarm scenarios first,
    then the others by failing seeds, at most CATCHING_SHOWN_MAX named (the JSON has all)."""
    def order(name):
        return (not name.endswith("-swarm"), -len(outcomes[name]["failing_seeds"]), name)

    shown = sorted(names, key=order)
    text = ", ".join(
        f"{name} {len(outcomes[name]['failing_seeds'])}/{scenarios[name][1] - scenarios[name][0]}"
        for name in shown[:CATCHING_SHOWN_MAX]
    )
    if len(shown) > CATCHING_SHOWN_MAX:
        text += f", and {len(shown) - CATCHING_SHOWN_MAX} more"
    return text or "—"


def format_swarm(catching: list, outcomes: dict) -> str:
    """The first catch in each swarm scenario (`-swarm`): what a safe sweep finds, and when."""
    found = [
        f"{outcomes[name]['first_failing_seed']}, {outcomes[name]['wall_s_until_first']:.2f}"
        for name in sorted(catching) if name.endswith("-swarm")
    ]
    return "; ".join(found) or "—"


def markdown_table(results: dict, scenarios: dict) -> str:
    lines = [
        "| bug | caught | credited to (failing runs) | scenarios catching it (failing / seeds) "
        "| fastest: scenario, first failing seed, seeds, wall s | swarm: first failing seed, wall s |",
        "|---|---|---|---|---|---|",
    ]
    for bug, result in results.items():
        if "error" in result:
            lines.append(f"| {bug} | error | {result['error'].splitlines()[0]} | | | |")
            continue
        summary = result["summary"]
        outcomes = result["scenarios"]
        catching = format_catching(summary["scenarios_catching"], outcomes, scenarios)
        fastest = summary["fastest"]
        fastest_text = "—" if fastest is None else (
            f"{fastest['scenario']}, {fastest['first_failing_seed']}, "
            f"{fastest['seeds_until_first']}, {fastest['wall_s_until_first']:.2f}"
        )
        if bug == CONTROL:
            caught = "not clean" if summary["changed_behaviour"] else "clean"
        else:
            caught = "yes" if summary["caught"] else (
                "no (behaviour changed)" if summary["changed_behaviour"] else "no"
            )
        lines.append(
            f"| {bug} | {caught} | {format_credited(summary['credited'])} | {catching} "
            f"| {fastest_text} | {format_swarm(summary['scenarios_catching'], outcomes)} |"
        )
    return "\n".join(lines)


def report_from_files(paths: list) -> str:
    """The table of one or more saved result files, merged: a bug in several files is shown
    as the last file has it. Every file must have swept the same scenarios and seeds."""
    merged: dict = {}
    scenarios = None
    for path in paths:
        report = json.loads(Path(path).read_text())
        ranges = {name: parse_seed_range(text) for name, text in report["scenarios"].items()}
        if scenarios is not None and ranges != scenarios:
            raise StudyError(f"{path} swept other scenarios or seeds than {paths[0]}")
        scenarios = ranges
        merged.update(report["bugs"])
    ordered = {CONTROL: merged.pop(CONTROL)} if CONTROL in merged else {}
    ordered.update(sorted(merged.items()))
    return markdown_table(ordered, scenarios or {})


def outcome_json(outcome: ScenarioOutcome) -> dict:
    return dataclasses.asdict(outcome)


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def run_study(arguments) -> int:
    repo = Path(git(Path.cwd(), "rev-parse", "--show-toplevel").stdout.strip())
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    patches = find_patches(repo, arguments.bugs)
    specs = parse_scenario_spec(arguments.scenarios)
    default_seeds = parse_seed_range(arguments.seeds)
    worktree = Worktree(repo, head)
    results: dict = {}
    errors = 0
    started = time.monotonic()
    worktree.create()
    try:
        worktree.reset()
        binary, build_s = build(worktree, f"the control ({head[:12]})")
        scenarios = resolve_scenarios(specs, list_catalogue(binary), default_seeds)
        control_raw, control = study_tree(binary, scenarios, arguments.jobs, None, CONTROL)
        dirty = {name: outcome.failing_seeds for name, outcome in control.items()
                 if outcome.failing_seeds}
        results[CONTROL] = {
            "build_s": build_s,
            "scenarios": {name: outcome_json(outcome) for name, outcome in control.items()},
            "summary": summarise_bug(control),
        }
        if dirty:
            raise StudyError(f"the control is not clean, failing seeds: {dirty}")
        for patch in patches:
            bug = patch.stem
            try:
                worktree.reset()
                worktree.apply(patch)
                binary, build_s = build(worktree, bug)
                _, outcomes = study_tree(binary, scenarios, arguments.jobs, control_raw, bug)
                results[bug] = {
                    "build_s": build_s,
                    "scenarios": {name: outcome_json(o) for name, o in outcomes.items()},
                    "summary": summarise_bug(outcomes),
                }
            except StudyError as error:
                errors += 1
                log(f"ERROR {bug}: {error}")
                results[bug] = {"error": str(error)}
    finally:
        log("removing the worktree")
        worktree.remove()
    report = {
        "head": head,
        "scenarios": {name: f"{seeds[0]}..{seeds[1]}" for name, seeds in scenarios.items()},
        "jobs": arguments.jobs,
        "wall_s": time.monotonic() - started,
        "bugs": results,
    }
    output = repo / RESULTS_DIRECTORY / f"{head[:12]}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    log(f"results in {output} ({report['wall_s']:.0f} s)")
    print(markdown_table(results, scenarios))
    return 2 if errors else 0


# ---------------------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------------------


def self_test() -> int:
    def run_line(seed, passed, checkers=(), failures=(), panic=None, wall_ms=10):
        return json.dumps({
            "kind": "run", "seed": seed, "passed": passed, "panic": panic, "wall_ms": wall_ms,
            "violations": [{"checker": name} for name in checkers], "failures": list(failures),
        })

    summary = json.dumps({"kind": "sweep-summary"})
    control = parse_sweep("\n".join([
        run_line(0, True, ["lost-write"]), run_line(1, True), run_line(2, True), summary,
    ]), (0, 3))
    patched = parse_sweep("\n".join([
        # Lost-write is expected here (the control reports it too): not credited.
        run_line(0, False, ["lost-write", "duplicate"],
                 ["expected at-least-once, observed none"], wall_ms=20),
        run_line(1, True, wall_ms=30),
        run_line(2, False, ["leader-in-isr"], ["invariant leader-in-isr violated"], wall_ms=5),
        summary,
    ]), (0, 3))
    outcome = analyse(patched, control, (0, 3))
    assert outcome.failing_seeds == [0, 2], outcome
    assert outcome.credited == {"duplicate": 1, "leader-in-isr": 1}, outcome.credited
    assert (outcome.first_failing_seed, outcome.seeds_until_first) == (0, 1)
    assert outcome.wall_s_until_first == 0.02 and outcome.wall_s_total == 0.055

    panicked = Run(5, False, True, 1, set(), ["the run panicked: boom"])
    assert credit(panicked, None) == {PANIC}
    missing = Run(6, False, False, 1, set(), ["coverage mark x was never reached"])
    assert credit(missing, None) == {EXPECTATION}
    assert detectors({EXPECTATION: 3}) == []

    only_expectation = analyse(
        {7: Run(7, False, False, 4, set(), ["expected anomaly lost-write was not observed"])},
        None, (7, 8))
    summary_bug = summarise_bug({"a": outcome, "b": only_expectation})
    assert summary_bug["caught"] and summary_bug["scenarios_catching"] == ["a"]
    assert summary_bug["fastest"]["scenario"] == "a"
    assert not summarise_bug({"b": only_expectation})["caught"]
    assert summarise_bug({"b": only_expectation})["changed_behaviour"]

    try:
        parse_sweep(run_line(0, True), (0, 2))
        raise AssertionError("an incomplete sweep was accepted")
    except StudyError:
        pass

    catalogue = ["a-b", "c-d", "safe-e"]
    resolved = resolve_scenarios(parse_scenario_spec("safe-e:0..200,all"), catalogue, (0, 20))
    assert resolved == {"safe-e": (0, 200), "a-b": (0, 20), "c-d": (0, 20)}, resolved
    assert list(resolved) == ["safe-e", "a-b", "c-d"]
    assert parse_list_output("a-b   at-most-once  x\n  cont\nat-least-once y\nNAME z\n") == ["a-b"]
    table = markdown_table(
        {"01-x": {"summary": summary_bug, "scenarios": {"a": outcome_json(outcome)}}},
        {"a": (0, 3)},
    )
    assert "| 01-x | yes | `duplicate` (1), `expectation` (1), `leader-in-isr` (1) | a 2/3 |" in table, table
    assert table.endswith("| a, 0, 1, 0.02 | — |"), table
    many = {name: {"failing_seeds": [0] * count}
            for name, count in (("a-x", 1), ("b-x", 3), ("c-swarm", 1), ("d-x", 2), ("e-x", 1))}
    ranges = {name: (0, 10) for name in many}
    assert format_catching(list(many), many, ranges) == \
        "c-swarm 1/10, b-x 3/10, d-x 2/10, and 2 more", format_catching(list(many), many, ranges)
    print("self-test passed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0..50",
                        help="seeds N, A..B or A..=B for scenarios without their own (default 0..50)")
    parser.add_argument("--scenarios", default="all",
                        help="comma-separated NAME or NAME:A..B; `all` = the whole catalogue")
    parser.add_argument("--bugs", type=lambda text: [b for b in text.split(",") if b],
                        help="comma-separated patch numbers or names (default: every patch)")
    parser.add_argument("--jobs", type=int, default=1, help="sweep worker threads (default 1)")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="print the table of saved result files (merged) and exit")
    parser.add_argument("--self-test", action="store_true", help="test the analysis and exit")
    arguments = parser.parse_args()
    if arguments.self_test:
        return self_test()
    if arguments.report:
        try:
            print(report_from_files(arguments.report))
        except (OSError, ValueError, KeyError, StudyError) as error:
            log(f"ERROR: cannot read the results: {error}")
            return 2
        return 0
    # A terminating signal unwinds like Ctrl-C, so the worktree is removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run_study(arguments)
    except StudyError as error:
        log(f"ERROR: {error}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
