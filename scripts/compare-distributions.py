#!/usr/bin/env python3
"""Show that two builds of the `watermark` CLI behave the same in distribution, over seeds.

`compare-behaviour.py` proves a change leaves every seed's run as it was. Some changes
cannot: madsim draws from its RNG on every task run, so a shell that wakes less often moves
every later draw, and seed 7 becomes a different (equally valid) schedule. Such a change
("a schedule epoch", docs/DECISIONS.md) must instead leave what a *population* of seeds
shows unchanged. For every catalogue scenario and every `examples/*.toml` file, this script
sweeps the same seeds with both builds and compares, per target:

  (a) all-or-nothing verdicts: a target on which one build met its expectation on every
      seed must do so under the other build too. A safe scenario that starts failing is a
      false alarm, a bug scenario that stops failing lost its reproduction; either fails
      the comparison whatever the statistics say;
  (b) proportions of seeds: that met the expectation, with each observed guarantee, with
      at least one finding of each checker, and with each coverage mark. Each pair of
      proportions is compared with a two-proportion z-test (pooled); a pair with
      |z| > --threshold (default 5: about one false flag in 3.5 million pairs of identical
      distributions) fails the comparison.

The threshold is deliberately loose, since a sweep compares thousands of pairs; the all-
or-nothing rule (a) is the strict one. The table lists, per target, the pass rates and the
proportion that moved most, so a reviewer sees the shifts that did not fail too.

Builds, targets, caching and the sweeps themselves are `compare-behaviour.py`'s (the same
--before/--after options and cache directory).

Exit codes: 0 no difference beyond the threshold and no all-or-nothing verdict broken;
1 some; 2 usage error, build failure or a sweep that could not complete.

Examples:
  scripts/compare-distributions.py --before-bin old/watermark --after-bin new/watermark \\
      --seeds 0..300 --jobs 2
  scripts/compare-distributions.py --self-test

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import importlib.util
import math
import sys
from pathlib import Path


def load_compare_behaviour():
    """`compare-behaviour.py` as a module (its file name has a hyphen)."""
    path = Path(__file__).resolve().parent / "compare-behaviour.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("compare_behaviour", path)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up by name while the class body runs.
    sys.modules["compare_behaviour"] = module
    spec.loader.exec_module(module)
    return module


behaviour = load_compare_behaviour()

DEFAULT_THRESHOLD = 5.0


@dataclasses.dataclass
class Proportions:
    """One build's results on one target, as counts of seeds."""

    seeds: int
    # Feature ("passed", "observed=X", "checker=X", "mark=X") -> seeds showing it.
    counts: collections.Counter


def proportions_of(results) -> Proportions:
    counts: collections.Counter = collections.Counter()
    for result in results.by_seed.values():
        features = {f"observed={result.observed}"}
        if result.passed:
            features.add("passed")
        features.update(f"checker={name}" for name, count in result.violations.items() if count)
        features.update(f"mark={name}" for name, count in result.marks.items() if count)
        counts.update(features)
    return Proportions(seeds=len(results.by_seed), counts=counts)


def z_score(hits_before: int, seeds_before: int, hits_after: int, seeds_after: int) -> float:
    """The pooled two-proportion z statistic; 0 where both sides are all or nothing alike."""
    pooled = (hits_before + hits_after) / (seeds_before + seeds_after)
    if pooled in (0.0, 1.0):
        return 0.0
    spread = math.sqrt(pooled * (1 - pooled) * (1 / seeds_before + 1 / seeds_after))
    return (hits_after / seeds_after - hits_before / seeds_before) / spread


@dataclasses.dataclass
class TargetDistribution:
    target: str
    seeds: int
    passed_before: int
    passed_after: int
    # (|z|, z, feature, hits before, hits after), largest |z| first.
    shifts: list
    broken_all_or_nothing: str = ""

    def flagged(self, threshold: float) -> list:
        return [shift for shift in self.shifts if shift[0] > threshold]

    def fails(self, threshold: float) -> bool:
        return bool(self.broken_all_or_nothing or self.flagged(threshold))


def compare_distributions(target: str, before: Proportions, after: Proportions) -> TargetDistribution:
    shifts = []
    for feature in sorted(set(before.counts) | set(after.counts)):
        hits_before, hits_after = before.counts[feature], after.counts[feature]
        z = z_score(hits_before, before.seeds, hits_after, after.seeds)
        shifts.append((abs(z), z, feature, hits_before, hits_after))
    shifts.sort(key=lambda shift: (-shift[0], shift[2]))
    passed_before, passed_after = before.counts["passed"], after.counts["passed"]
    broken = ""
    for side, passed, seeds, other, other_passed, other_seeds in (
        ("before", passed_before, before.seeds, "after", passed_after, after.seeds),
        ("after", passed_after, after.seeds, "before", passed_before, before.seeds),
    ):
        if passed == seeds and other_passed < other_seeds:
            broken = (f"met its expectation on every seed {side}, "
                      f"failed {other_seeds - other_passed} of {other_seeds} {other}")
        if passed == 0 and other_passed > 0:
            broken = (f"failed its expectation on every seed {side}, "
                      f"met it on {other_passed} of {other_seeds} {other}")
    return TargetDistribution(target=target, seeds=before.seeds, passed_before=passed_before,
                              passed_after=passed_after, shifts=shifts,
                              broken_all_or_nothing=broken)


def describe_shift(shift: tuple, seeds: int) -> str:
    _, z, feature, hits_before, hits_after = shift
    return f"{feature} {hits_before}/{seeds} -> {hits_after}/{seeds} (z {z:+.1f})"


def report(distributions: list, threshold: float, seeds: tuple) -> int:
    rows = []
    for distribution in distributions:
        largest = distribution.shifts[0] if distribution.shifts else None
        rows.append([
            distribution.target,
            f"{distribution.passed_before}/{distribution.seeds}",
            f"{distribution.passed_after}/{distribution.seeds}",
            describe_shift(largest, distribution.seeds) if largest else "-",
            "FAIL" if distribution.fails(threshold) else "ok",
        ])
    print(behaviour.text_table(
        ["target", "met before", "met after", "largest shift", "result"], rows))
    failing = [distribution for distribution in distributions if distribution.fails(threshold)]
    for distribution in failing:
        print(f"\n{distribution.target}:")
        if distribution.broken_all_or_nothing:
            print(f"  {distribution.broken_all_or_nothing}")
        for shift in distribution.flagged(threshold):
            print(f"  {describe_shift(shift, distribution.seeds)}")
    pairs = sum(len(distribution.shifts) for distribution in distributions)
    print(f"\nseeds {seeds[0]}..{seeds[1]}, {len(distributions)} target(s), {pairs} proportions "
          f"compared, threshold |z| > {threshold}: "
          + (f"{len(failing)} target(s) differ" if failing else "no difference"))
    return 1 if failing else 0


def parse_arguments(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="compare-distributions.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    before = parser.add_mutually_exclusive_group()
    before.add_argument("--before", metavar="REV", help="git revision of the before build")
    before.add_argument("--before-bin", metavar="PATH", help="an already built before binary")
    after = parser.add_mutually_exclusive_group()
    after.add_argument("--after", metavar="REV",
                       help="git revision of the after build, or WORKTREE (the default)")
    after.add_argument("--after-bin", metavar="PATH", help="an already built after binary")
    parser.add_argument("--seeds", default="0..300", metavar="SEEDS",
                        help="seeds: N, A..B (B excluded) or A..=B (default 0..300)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="worker threads per sweep (default 2)")
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="compare only these scenarios or example files")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="Z",
                        help=f"flag proportions whose |z| exceeds Z (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--no-cache", action="store_true",
                        help="sweep again even when results of the same binary are cached")
    parser.add_argument("--self-test", action="store_true",
                        help="check the statistics on hand-made results and exit")
    arguments = parser.parse_args(argv)
    if not arguments.self_test and arguments.before is None and arguments.before_bin is None:
        parser.error("give --before REV or --before-bin PATH")
    if arguments.after is None and arguments.after_bin is None:
        arguments.after = behaviour.WORKTREE
    if arguments.jobs < 1:
        parser.error("--jobs must be at least 1")
    if arguments.threshold <= 0:
        parser.error("--threshold must be positive")
    return arguments


def targets_of(before, after, repo: Path, only: list | None) -> list:
    before_names = behaviour.list_scenarios(before, repo)
    after_names = set(behaviour.list_scenarios(after, repo))
    targets = [behaviour.Target(name=name, argument=name, slug=name, is_example=False)
               for name in before_names if name in after_names]
    targets.extend(behaviour.example_targets(repo))
    if only:
        targets = [target for target in targets if behaviour.matches_only(target, only)]
        if not targets:
            raise behaviour.CompareError(f"--only: no target matches {', '.join(only)}")
    return targets


def compare(arguments: argparse.Namespace) -> int:
    seeds = behaviour.parse_seed_range(arguments.seeds)
    repo = behaviour.repository_root()
    built: dict = {}
    before = behaviour.prepare_build(repo, "before", arguments.before, arguments.before_bin,
                                     built)
    after = behaviour.prepare_build(repo, "after", arguments.after, arguments.after_bin, built)
    distributions = []
    for target in targets_of(before, after, repo, arguments.only):
        outcomes = [behaviour.sweep(build, target, seeds, arguments.jobs, repo,
                                    not arguments.no_cache) for build in (before, after)]
        if any(outcome.results is None for outcome in outcomes):
            behaviour.log(f"  {target.name}: not compared (a build cannot load it)")
            continue
        distributions.append(compare_distributions(
            target.name, proportions_of(outcomes[0].results),
            proportions_of(outcomes[1].results)))
    print(f"before: {before.description} (sha256 {before.sha256[:16]})")
    print(f"after:  {after.description} (sha256 {after.sha256[:16]})")
    return report(distributions, arguments.threshold, seeds)


def self_test() -> int:
    failures = []

    def check(condition: bool, what: str) -> None:
        print(f"{'ok  ' if condition else 'FAIL'} {what}")
        if not condition:
            failures.append(what)

    def results(rows: list):
        """rows: (passed, observed, checkers, marks) per seed."""
        by_seed = {}
        for seed, (passed, observed, checkers, marks) in enumerate(rows):
            by_seed[seed] = behaviour.SeedResult(
                seed=seed, observed=observed, passed=passed,
                violations=collections.Counter(checkers), marks=dict(marks), trace_hash="")
        return behaviour.SweepResults(by_seed=by_seed)

    clean = [(True, "exactly-once", [], {"isr-shrunk": 1})] * 150 + \
            [(True, "exactly-once", [], {})] * 150
    reshuffled = [(True, "exactly-once", [], {})] * 140 + \
                 [(True, "exactly-once", [], {"isr-shrunk": 2})] * 160
    same = compare_distributions("t", proportions_of(results(clean)),
                                 proportions_of(results(reshuffled)))
    check(not same.fails(DEFAULT_THRESHOLD),
          "150 against 160 of 300 seeds with a mark is within the threshold")

    vanished = [(True, "exactly-once", [], {})] * 300
    gone = compare_distributions("t", proportions_of(results(clean)),
                                 proportions_of(results(vanished)))
    check(gone.fails(DEFAULT_THRESHOLD) and gone.flagged(DEFAULT_THRESHOLD)[0][2]
          == "mark=isr-shrunk", "a mark on half the seeds that vanishes is flagged")

    false_alarm = [(True, "exactly-once", [], {})] * 299 + \
                  [(False, "at-least-once", ["duplicate"], {})]
    alarm = compare_distributions("t", proportions_of(results(vanished)),
                                  proportions_of(results(false_alarm)))
    check(alarm.fails(DEFAULT_THRESHOLD) and "every seed before" in alarm.broken_all_or_nothing,
          "one failing seed on a target that always passed fails (all-or-nothing)")
    check(not alarm.flagged(DEFAULT_THRESHOLD),
          "... although no proportion moved beyond the threshold")

    always_fails = [(False, "at-least-once", ["duplicate"], {})] * 300
    lost_reproduction = [(False, "at-least-once", ["duplicate"], {})] * 290 + \
                        [(True, "exactly-once", [], {})] * 10
    lost = compare_distributions("t", proportions_of(results(always_fails)),
                                 proportions_of(results(lost_reproduction)))
    check(lost.fails(DEFAULT_THRESHOLD) and "failed its expectation on every seed before"
          in lost.broken_all_or_nothing, "a bug that stops reproducing on some seeds fails")

    check(z_score(0, 300, 0, 300) == 0.0 and z_score(300, 300, 300, 300) == 0.0,
          "all-or-nothing alike on both sides has z 0")
    check(abs(z_score(150, 300, 150, 300)) < 1e-12, "equal proportions have z 0")
    check(z_score(100, 300, 200, 300) > 8, "a third against two thirds of 300 is far apart")

    print(f"\nself-test: {'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'}")
    return 1 if failures else 0


def main(argv: list) -> int:
    arguments = parse_arguments(argv)
    if arguments.self_test:
        return self_test()
    try:
        return compare(arguments)
    except behaviour.CompareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
