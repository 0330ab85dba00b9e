#!/usr/bin/env python3
"""Show that two builds of the `watermark` CLI behave the same, seed by seed.

A restructuring of the code base must not change what a simulated run does. This script
runs `watermark sweep <target> --seeds A..B --json` with two builds ("before" and
"after") for every catalogue scenario and every `examples/*.toml` file of the current
working tree, and compares, per seed:

  (a) the verdict: the observed guarantee and whether the expectation was met;
  (b) the violations: how many times each checker reported (a multiset of names);
  (c) the coverage marks: each mark's name and count;
  (d) the trace hash, for information only: hashes may legitimately change once, in a
      commit that changes the trace encoding, so a hash difference never fails the run.

Checker and mark names are compared after normalisation (lower case, `_` and CamelCase
turned into `-`), because the restructuring renames them (`isr_shrunk` -> `isr-shrunk`,
`LeaderInIsr` -> `leader-in-isr`) without changing behaviour.

Builds:
  --before REV / --after REV   a git revision, built in a worktree
                               target/compare/worktrees/<sha> with
                               CARGO_TARGET_DIR=target/compare/targets/<sha>
                               (`cargo build --release --locked --bin watermark`).
                               Both sides at the same sha are built once.
  --after WORKTREE             (the default) the current working tree, built in place
                               with `cargo build --release --bin watermark`.
                               WORKTREE is accepted for --before too.
  --before-bin / --after-bin   an already built binary.

Each build's sweep output is cached in
target/compare/results/<sha256 of the binary, 16 hex>/<target>-<A>-<B>.jsonl (for an
example file, <target> includes a hash of its content), so rerunning with an unchanged
binary does not sweep again. With the same binary on both sides, the after side reads the
before side's results from the cache unless --no-cache is given.

Targets whose name only one build lists, and example files the before build cannot load
(its sweep exits 2), are reported as "not compared" and do not fail the comparison. An
example the before build loads but the after build rejects does fail it.

Exit codes: 0 verdicts, violations and marks identical on every compared seed; 1 some
differ; 2 usage error, build failure, or a sweep that could not complete (exit 2 on a
catalogue scenario, exit 3 because a run panicked, or output this script cannot read).

Examples:
  scripts/compare-behaviour.py --before e426210 --after WORKTREE --seeds 0..2000 --jobs 2
  scripts/compare-behaviour.py --before-bin old/watermark --after-bin new/watermark \\
      --only safe-acks-all-swarm slow-follower.toml
  scripts/compare-behaviour.py --self-test

Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from watermark_scripts import cargo_environment, parse_list_output
from watermark_scripts import parse_seed_range as parse_seed_range_raising

WORKTREE = "WORKTREE"

# The per-seed comparison categories, in the order the table shows them. Only the first
# four decide the exit code; "hash" is information.
VERDICT = "verdict"
VIOLATIONS = "violations"
MARK_SET = "mark set"
MARK_COUNTS = "mark counts"
HASH = "hash"
CATEGORIES = (VERDICT, VIOLATIONS, MARK_SET, MARK_COUNTS, HASH)
FAILING_CATEGORIES = (VERDICT, VIOLATIONS, MARK_SET, MARK_COUNTS)

EXAMPLES_SHOWN_MAX = 5

# `watermark list` prints guarantees in the second column; they are kebab-case words too
# and must never be taken for scenario names.


class CompareError(Exception):
    """The comparison cannot be made: bad usage, a failed build or an unusable sweep.
    The script prints the message and exits 2."""


def parse_seed_range(text: str) -> tuple[int, int]:
    """`N`, `A..B` (B excluded) or `A..=B` as the half-open (A, B); a malformed range is a
    CompareError."""
    return parse_seed_range_raising(text, CompareError)


class SweepOutputError(Exception):
    """Sweep output that does not hold exactly one well-formed report per seed."""


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """The one spelling under which checker and mark names are compared.

    The restructuring renames marks (`isr_shrunk` -> `isr-shrunk`) and may print checkers
    in kebab case (`LeaderInIsr` -> `leader-in-isr`). Those are changes of spelling, not of
    behaviour, so both builds' names are compared in lower kebab case.
    """
    # CamelCase: a hyphen before an upper-case letter that follows a lower-case letter or
    # digit (`LeaderInIsr` -> `Leader-In-Isr`), and between an acronym and the next word
    # (`ISRShrunk` -> `ISR-Shrunk`).
    kebab = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    kebab = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", kebab)
    return kebab.replace("_", "-").lower()


@dataclasses.dataclass(frozen=True)
class SeedResult:
    """What one seed of one build did, names normalised."""

    seed: int
    observed: str
    passed: bool
    # Normalised checker name -> how many violations it reported.
    violations: collections.Counter
    # Normalised mark name -> count.
    marks: dict
    trace_hash: str


@dataclasses.dataclass
class SweepResults:
    """One build's reports on one target, by seed."""

    by_seed: dict
    # Different raw names of one build that normalised to the same name (their counts are
    # summed); a restructuring that produces one should be looked at.
    name_collisions: set = dataclasses.field(default_factory=set)


def parse_run_object(report: dict, collisions: set) -> SeedResult:
    """One `"kind": "run"` object as a SeedResult. Missing fields are errors rather than
    defaults, so a renamed field cannot compare as equal on both sides by accident."""
    for field in ("seed", "observed", "passed", "violations", "marks"):
        if field not in report:
            raise SweepOutputError(f"a run report has no {field!r} field: {short(report)}")
    seed = report["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SweepOutputError(f"a run report's seed is not an integer: {seed!r}")
    if not isinstance(report["passed"], bool):
        raise SweepOutputError(f"seed {seed}: 'passed' is not a boolean")
    if not isinstance(report["violations"], list):
        raise SweepOutputError(f"seed {seed}: 'violations' is not a list")
    if not isinstance(report["marks"], dict):
        raise SweepOutputError(f"seed {seed}: 'marks' is not an object")

    violations: collections.Counter = collections.Counter()
    for violation in report["violations"]:
        if not isinstance(violation, dict) or not isinstance(violation.get("checker"), str):
            raise SweepOutputError(f"seed {seed}: a violation without a checker name")
        violations[normalise_name(violation["checker"])] += 1

    marks: dict = {}
    raw_names_of: dict = collections.defaultdict(set)
    for raw_name, count in report["marks"].items():
        if not isinstance(count, int) or isinstance(count, bool):
            raise SweepOutputError(f"seed {seed}: mark {raw_name!r} has count {count!r}")
        name = normalise_name(raw_name)
        raw_names_of[name].add(raw_name)
        marks[name] = marks.get(name, 0) + count
    for raw_names in raw_names_of.values():
        if len(raw_names) > 1:
            collisions.add(tuple(sorted(raw_names)))

    return SeedResult(
        seed=seed,
        observed=str(report["observed"]),
        passed=report["passed"],
        violations=violations,
        marks=marks,
        # A panicked run has an empty hash; a missing field compares as empty too, and the
        # hash never decides the exit code.
        trace_hash=str(report.get("trace_hash") or ""),
    )


def parse_sweep_output(text: str, seeds: tuple[int, int]) -> SweepResults:
    """The JSON lines of `watermark sweep --json` over `seeds`: one run object per seed and a
    summary object last. Other kinds of object are ignored. Raises SweepOutputError unless
    every seed of the range has exactly one report and nothing else is wrong."""
    first, end = seeds
    results = SweepResults(by_seed={})
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise SweepOutputError(f"line {number} is not JSON ({error}): {line[:120]}")
        if not isinstance(value, dict):
            raise SweepOutputError(f"line {number} is not a JSON object: {line[:120]}")
        objects.append(value)

    if not objects or "summary" not in str(objects[-1].get("kind", "")):
        raise SweepOutputError("the output does not end with a summary object")
    summary = objects[-1]

    for value in objects[:-1]:
        if value.get("kind") != "run":
            continue
        result = parse_run_object(value, results.name_collisions)
        if result.seed in results.by_seed:
            raise SweepOutputError(f"seed {result.seed} is reported twice")
        if not first <= result.seed < end:
            raise SweepOutputError(f"seed {result.seed} is outside {first}..{end}")
        results.by_seed[result.seed] = result

    missing = [seed for seed in range(first, end) if seed not in results.by_seed]
    if missing:
        raise SweepOutputError(
            f"{len(missing)} seed(s) have no report, first {missing[:5]}"
        )
    runs = summary.get("runs")
    if isinstance(runs, int) and runs != len(results.by_seed):
        raise SweepOutputError(
            f"the summary counts {runs} runs but there are {len(results.by_seed)} reports"
        )
    return results


def short(value: object, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------


def format_counter(counts: dict) -> str:
    if not counts:
        return "none"
    return ", ".join(
        name if count == 1 else f"{name} x{count}" for name, count in sorted(counts.items())
    )


def format_verdict(result: SeedResult) -> str:
    return f"observed {result.observed}, {'passed' if result.passed else 'failed'}"


def compare_seed(before: SeedResult, after: SeedResult) -> dict:
    """Category -> (before text, after text) for every category in which the seed differs."""
    differences = {}
    if (before.observed, before.passed) != (after.observed, after.passed):
        differences[VERDICT] = (format_verdict(before), format_verdict(after))
    if before.violations != after.violations:
        differences[VIOLATIONS] = (
            format_counter(before.violations),
            format_counter(after.violations),
        )
    before_names, after_names = set(before.marks), set(after.marks)
    if before_names != after_names:
        only_before = sorted(before_names - after_names)
        only_after = sorted(after_names - before_names)
        differences[MARK_SET] = (
            "only here: " + (", ".join(only_before) or "-"),
            "only here: " + (", ".join(only_after) or "-"),
        )
    changed = sorted(
        name for name in before_names & after_names if before.marks[name] != after.marks[name]
    )
    if changed:
        differences[MARK_COUNTS] = (
            ", ".join(f"{name} {before.marks[name]}" for name in changed),
            ", ".join(f"{name} {after.marks[name]}" for name in changed),
        )
    if before.trace_hash != after.trace_hash:
        differences[HASH] = (before.trace_hash or "-", after.trace_hash or "-")
    return differences


@dataclasses.dataclass
class TargetComparison:
    target: str
    seeds_compared: int = 0
    # Category -> seeds that differ in it, in seed order.
    differing_seeds: dict = dataclasses.field(
        default_factory=lambda: {category: [] for category in CATEGORIES}
    )
    # Category -> up to EXAMPLES_SHOWN_MAX (seed, before text, after text).
    examples: dict = dataclasses.field(
        default_factory=lambda: {category: [] for category in CATEGORIES}
    )

    def failing_seeds(self) -> set:
        return {seed for category in FAILING_CATEGORIES for seed in self.differing_seeds[category]}


def compare_results(target: str, before: SweepResults, after: SweepResults) -> TargetComparison:
    """Compares two builds' reports on one target, seed by seed. Both must hold the same
    seeds (parse_sweep_output checks each against the requested range)."""
    if set(before.by_seed) != set(after.by_seed):
        raise CompareError(f"{target}: the two builds reported on different seeds")
    comparison = TargetComparison(target=target)
    for seed in sorted(before.by_seed):
        comparison.seeds_compared += 1
        for category, (before_text, after_text) in compare_seed(
            before.by_seed[seed], after.by_seed[seed]
        ).items():
            comparison.differing_seeds[category].append(seed)
            if len(comparison.examples[category]) < EXAMPLES_SHOWN_MAX:
                comparison.examples[category].append((seed, before_text, after_text))
    return comparison


# ---------------------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Build:
    side: str  # "before" or "after"
    description: str  # what the user asked for, for the report
    binary: Path  # a private copy, named by its sha256
    sha256: str
    # The source tree the binary was built from (None for a given binary): each side sweeps
    # the example files of its own tree, since an example may be respelled between
    # revisions (the restructuring renamed marks to kebab-case).
    tree: Path | None = None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def git(repo: Path, *args: str) -> str:
    process = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=False
    )
    if process.returncode != 0:
        raise CompareError(f"git {' '.join(args)} failed: {process.stderr.strip()}")
    return process.stdout.strip()


def run_cargo(command: list, cwd: Path, environment: dict, what: str) -> None:
    log(f"building {what}: {' '.join(command)} (in {cwd})")
    started = time.monotonic()
    # cargo's own progress goes straight to the terminal: builds take minutes.
    process = subprocess.run(command, cwd=cwd, env=environment, check=False,
                             stdout=sys.stderr)
    if process.returncode != 0:
        raise CompareError(f"the build of {what} failed (cargo exit {process.returncode})")
    log(f"built {what} in {time.monotonic() - started:.0f} s")


def build_revision(repo: Path, revision: str, built: dict) -> Path:
    """Builds `revision` in its own worktree and target directory and returns the binary.
    `built` maps sha -> binary, so a sha asked for twice is built once."""
    try:
        sha = git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except CompareError:
        raise CompareError(f"{revision!r} is not a commit of {repo}") from None
    if sha in built:
        return built[sha]
    worktree = repo / "target" / "compare" / "worktrees" / sha
    if worktree.exists():
        head = git(worktree, "rev-parse", "HEAD")
        if head != sha:
            raise CompareError(f"{worktree} is checked out at {head}, not {sha}; remove it")
        log(f"reusing the worktree {worktree}")
    else:
        worktree.parent.mkdir(parents=True, exist_ok=True)
        git(repo, "worktree", "add", "--detach", str(worktree), sha)
    # Note: the worktree lies inside this repository, so cargo also reads the repository's
    # own .cargo/config.toml and joins its rustflags to the worktree's (a repeated
    # `--cfg madsim` is harmless). The location is the one the team asked for.
    target_dir = repo / "target" / "compare" / "targets" / sha
    run_cargo(
        ["cargo", "build", "--release", "--locked", "--bin", "watermark"],
        worktree,
        cargo_environment(target_dir),
        f"{revision} ({sha[:12]})",
    )
    binary = target_dir / "release" / "watermark"
    built[sha] = binary
    return binary


def build_worktree(repo: Path, built: dict) -> Path:
    if WORKTREE not in built:
        run_cargo(
            ["cargo", "build", "--release", "--bin", "watermark"],
            repo,
            cargo_environment(None),
            "the working tree",
        )
        built[WORKTREE] = repo / "target" / "release" / "watermark"
    return built[WORKTREE]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot_binary(repo: Path, binary: Path) -> tuple[Path, str]:
    """Copies the binary to target/compare/bins/<sha256>/ and returns the copy. Other people
    build in the same tree; without a copy, target/release/watermark could be replaced
    between hashing it and running it, and results would be cached under the wrong key."""
    if not binary.is_file():
        raise CompareError(f"no binary at {binary}")
    digest = sha256_of(binary)
    copy = repo / "target" / "compare" / "bins" / digest[:16] / "watermark"
    if not copy.is_file() or sha256_of(copy) != digest:
        copy.parent.mkdir(parents=True, exist_ok=True)
        temporary = copy.with_suffix(".partial")
        shutil.copy2(binary, temporary)
        os.replace(temporary, copy)
        # The file may have changed while it was copied; hash what was copied.
        digest_of_copy = sha256_of(copy)
        if digest_of_copy != digest:
            raise CompareError(f"{binary} changed while it was being copied; run again")
    return copy, digest


def prepare_build(repo: Path, side: str, revision: str | None, binary: str | None,
                  built: dict) -> Build:
    tree = None
    if binary is not None:
        path, description = Path(binary).resolve(), f"binary {binary}"
    elif revision == WORKTREE:
        path, description = build_worktree(repo, built), "the working tree"
        tree = repo
    else:
        path, description = build_revision(repo, revision, built), f"revision {revision}"
        # build_revision puts the binary in target/compare/targets/<sha>/release/.
        tree = repo / "target" / "compare" / "worktrees" / path.parent.parent.name
    copy, digest = snapshot_binary(repo, path)
    log(f"{side}: {description}, binary sha256 {digest[:16]}")
    return Build(side=side, description=description, binary=copy, sha256=digest, tree=tree)


# ---------------------------------------------------------------------------------------
# Targets and sweeps
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    name: str  # what the table shows
    argument: str  # what `watermark sweep` is given
    slug: str  # the cache file's name
    is_example: bool


def list_scenarios(build: Build, repo: Path) -> list[str]:
    process = subprocess.run([str(build.binary), "list"], cwd=repo, capture_output=True,
                             text=True, check=False)
    if process.returncode != 0:
        raise CompareError(
            f"`watermark list` of the {build.side} build exited {process.returncode}: "
            f"{process.stderr.strip()[:300]}"
        )
    names = parse_list_output(process.stdout)
    if not names:
        raise CompareError(
            f"found no scenario names in the {build.side} build's `watermark list` output:\n"
            + process.stdout[:500]
        )
    return names


def example_targets(repo: Path) -> list[Target]:
    targets = []
    for path in sorted((repo / "examples").glob("*.toml")):
        relative = path.relative_to(repo).as_posix()
        # The file's content is part of the cache key: an edited example must be swept
        # again even when the binary has not changed.
        content_hash = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        slug = f"example-{re.sub(r'[^A-Za-z0-9._-]', '_', path.stem)}-{content_hash}"
        targets.append(Target(name=relative, argument=relative, slug=slug, is_example=True))
    return targets


def matches_only(target: Target, only: list[str]) -> bool:
    if target.is_example:
        path = Path(target.name)
        return any(word in (target.name, path.name, path.stem) for word in only)
    return target.name in only


@dataclasses.dataclass
class SweepOutcome:
    results: SweepResults | None  # None: the build could not load the target (exit 2)
    load_error: str = ""
    seconds: float = 0.0
    cached: bool = False


def sweep(build: Build, target: Target, seeds: tuple[int, int], jobs: int,
          repo: Path, use_cache: bool) -> SweepOutcome:
    first, end = seeds
    argument, slug = target.argument, target.slug
    if target.is_example and build.tree is not None and (build.tree / target.argument).is_file():
        own_file = build.tree / target.argument
        argument = str(own_file)
        content_hash = hashlib.sha256(own_file.read_bytes()).hexdigest()[:12]
        slug = f"example-{re.sub(r'[^A-Za-z0-9._-]', '_', own_file.stem)}-{content_hash}"
    cache = (repo / "target" / "compare" / "results" / build.sha256[:16]
             / f"{slug}-{first}-{end}.jsonl")
    if use_cache and cache.is_file():
        try:
            results = parse_sweep_output(cache.read_text(), seeds)
            log(f"  {build.side:<6} {target.name}: cached")
            return SweepOutcome(results=results, cached=True)
        except SweepOutputError as error:
            log(f"  {build.side:<6} {target.name}: ignoring a bad cache file {cache}: {error}")

    command = [str(build.binary), "sweep", argument, "--seeds", f"{first}..{end}",
               "--json", "--jobs", str(jobs)]
    started = time.monotonic()
    process = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    log(f"  {build.side:<6} {target.name}: exit {process.returncode} in {seconds:.1f} s")

    # Exit 1 only says some seeds did not meet their expectation: that is behaviour to
    # compare. Exit 2 on an example file means this build cannot load it.
    if process.returncode == 2 and target.is_example:
        reason = process.stderr.strip().splitlines()
        return SweepOutcome(results=None, load_error=reason[-1] if reason else "exit 2",
                            seconds=seconds)
    if process.returncode not in (0, 1):
        raise CompareError(
            f"the {build.side} build's sweep of {target.name} exited {process.returncode}"
            f"{panicked_seeds_note(process.stdout)}: {process.stderr.strip()[-500:]}\n"
            f"command: {' '.join(command)}"
        )
    try:
        results = parse_sweep_output(process.stdout, seeds)
    except SweepOutputError as error:
        raise CompareError(f"the {build.side} build's sweep of {target.name}: {error}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_suffix(".partial")
    temporary.write_text(process.stdout)
    os.replace(temporary, cache)  # never leave half a cache file behind
    return SweepOutcome(results=results, seconds=seconds)


def panicked_seeds_note(stdout: str) -> str:
    """For an error message: which seeds panicked, read leniently from the output."""
    seeds = []
    for line in stdout.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and value.get("kind") == "run" and value.get("panic"):
            seeds.append(value.get("seed"))
    if not seeds:
        return ""
    return f" (seeds that panicked: {seeds[:10]}{' …' if len(seeds) > 10 else ''})"


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def text_table(headers: list, rows: list) -> str:
    widths = [len(header) for header in headers]
    for row in rows:
        for column, cell in enumerate(row):
            widths[column] = max(widths[column], len(cell))
    lines = []
    for row in [headers, ["-" * width for width in widths], *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)


@dataclasses.dataclass
class NotCompared:
    target: str
    reason: str
    fails: bool  # an example the before build loads and the after build rejects


def report(comparisons: list, not_compared: list, seeds: tuple[int, int],
           collisions: set) -> int:
    """Prints the table, the examples and the last line; returns the exit code."""
    rows = []
    for comparison in comparisons:
        rows.append([comparison.target, str(comparison.seeds_compared)]
                    + [str(len(comparison.differing_seeds[category])) for category in CATEGORIES])
    print(f"seeds {seeds[0]}..{seeds[1]}: seeds compared, then seeds that differ in each way")
    print(text_table(["target", "seeds", *CATEGORIES], rows))

    for comparison in comparisons:
        for category in CATEGORIES:
            examples = comparison.examples[category]
            if not examples:
                continue
            count = len(comparison.differing_seeds[category])
            note = " (information only)" if category not in FAILING_CATEGORIES else ""
            print(f"\n{comparison.target}: {category} differs on {count} seed(s){note}, e.g.")
            for seed, before_text, after_text in examples:
                print(f"  seed {seed}")
                print(f"    before: {before_text}")
                print(f"    after:  {after_text}")

    if not_compared:
        print()
        for skipped in not_compared:
            marker = " [fails the comparison]" if skipped.fails else ""
            print(f"not compared: {skipped.target}: {skipped.reason}{marker}")
    if collisions:
        print()
        for names in sorted(collisions):
            print(f"note: names {', '.join(names)} normalise to one name; their counts were summed")

    total = sum(comparison.seeds_compared for comparison in comparisons)
    hash_differences = sum(len(comparison.differing_seeds[HASH]) for comparison in comparisons)
    print(f"\ntrace hashes differ on {hash_differences} of {total} runs (information only)")

    per_category = {
        category: sum(len(comparison.differing_seeds[category]) for comparison in comparisons)
        for category in FAILING_CATEGORIES
    }
    differing_runs = sum(len(comparison.failing_seeds()) for comparison in comparisons)
    failing_skips = [skipped for skipped in not_compared if skipped.fails]
    if differing_runs == 0 and not failing_skips:
        print(f"IDENTICAL: verdicts, violations and marks on {total} runs")
        return 0
    parts = [f"{differing_runs} of {total} runs differ ("
             + ", ".join(f"{category} {count}" for category, count in per_category.items())
             + ")"]
    if failing_skips:
        parts.append(f"{len(failing_skips)} example(s) the after build cannot load")
    print("DIFFERENT: " + "; ".join(parts))
    return 1


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def parse_arguments(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="compare-behaviour.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    before = parser.add_mutually_exclusive_group()
    before.add_argument("--before", metavar="REV",
                        help="git revision of the before build (or WORKTREE)")
    before.add_argument("--before-bin", metavar="PATH", help="an already built before binary")
    after = parser.add_mutually_exclusive_group()
    after.add_argument("--after", metavar="REV",
                       help="git revision of the after build, or WORKTREE (the default): "
                            "the current working tree")
    after.add_argument("--after-bin", metavar="PATH", help="an already built after binary")
    parser.add_argument("--seeds", default="0..2000", metavar="SEEDS",
                        help="seeds: N, A..B (B excluded) or A..=B (default 0..2000)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="worker threads per sweep (default 2)")
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="compare only these scenarios or example files "
                             "(name, file name or path)")
    parser.add_argument("--no-cache", action="store_true",
                        help="sweep again even when results of the same binary are cached "
                             "(with the same binary on both sides this also checks that "
                             "runs are deterministic); the new results replace the cache")
    parser.add_argument("--self-test", action="store_true",
                        help="check the parsing and comparison functions and exit")
    arguments = parser.parse_args(argv)
    if not arguments.self_test and arguments.before is None and arguments.before_bin is None:
        parser.error("give --before REV or --before-bin PATH")
    if arguments.after is None and arguments.after_bin is None:
        arguments.after = WORKTREE
    if arguments.jobs < 1:
        parser.error("--jobs must be at least 1")
    return arguments


def repository_root() -> Path:
    script_directory = Path(__file__).resolve().parent
    return Path(git(script_directory, "rev-parse", "--show-toplevel"))


def compare(arguments: argparse.Namespace) -> int:
    seeds = parse_seed_range(arguments.seeds)
    repo = repository_root()
    built: dict = {}
    before = prepare_build(repo, "before", arguments.before, arguments.before_bin, built)
    after = prepare_build(repo, "after", arguments.after, arguments.after_bin, built)

    before_names = list_scenarios(before, repo)
    after_names = list_scenarios(after, repo)
    not_compared = []
    targets = []
    for name in before_names:
        if name in after_names:
            targets.append(Target(name=name, argument=name, slug=name, is_example=False))
        else:
            not_compared.append(NotCompared(name, "only the before build lists it", False))
    for name in after_names:
        if name not in before_names:
            not_compared.append(NotCompared(name, "only the after build lists it", False))
    targets.extend(example_targets(repo))

    if arguments.only:
        known = [target for target in targets if matches_only(target, arguments.only)]
        unknown = [word for word in arguments.only
                   if not any(matches_only(target, [word]) for target in targets)
                   and not any(skipped.target == word for skipped in not_compared)]
        if unknown:
            raise CompareError(f"--only: unknown target(s) {', '.join(unknown)}; known: "
                               + ", ".join(target.name for target in targets))
        targets = known
        not_compared = [skipped for skipped in not_compared if skipped.target in arguments.only]

    comparisons = []
    collisions: set = set()
    seconds = {"before": 0.0, "after": 0.0}
    log(f"sweeping {len(targets)} target(s) over seeds {seeds[0]}..{seeds[1]} "
        f"with --jobs {arguments.jobs}")
    for target in targets:
        before_outcome = sweep(before, target, seeds, arguments.jobs, repo,
                               not arguments.no_cache)
        seconds["before"] += before_outcome.seconds
        if before_outcome.results is None:
            not_compared.append(NotCompared(
                target.name, f"the before build cannot load it: {before_outcome.load_error}",
                False))
            continue
        after_outcome = sweep(after, target, seeds, arguments.jobs, repo,
                              not arguments.no_cache)
        seconds["after"] += after_outcome.seconds
        if after_outcome.results is None:
            not_compared.append(NotCompared(
                target.name,
                f"the before build loads it, the after build cannot: {after_outcome.load_error}",
                True))
            continue
        collisions |= before_outcome.results.name_collisions
        collisions |= after_outcome.results.name_collisions
        comparisons.append(compare_results(target.name, before_outcome.results,
                                           after_outcome.results))
    log(f"sweep time: before {seconds['before']:.1f} s, after {seconds['after']:.1f} s "
        "(0 for cached results)")
    print(f"before: {before.description} (sha256 {before.sha256[:16]})")
    print(f"after:  {after.description} (sha256 {after.sha256[:16]})")
    return report(comparisons, not_compared, seeds, collisions)


# ---------------------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------------------


def run_line(seed: int, observed: str = "exactly-once", passed: bool = True,
             checkers: tuple = (), marks: dict | None = None,
             trace_hash: str = "00aa") -> str:
    """One hand-made `"kind": "run"` line, shaped like the real output."""
    return json.dumps({
        "kind": "run", "scenario": "s", "seed": seed, "observed": observed,
        "expected": "at-least-once", "passed": passed, "failures": [],
        "violations": [{"checker": checker, "partition": None, "offsets": [], "values": [],
                        "time_ms": 0, "description": ""} for checker in checkers],
        "marks": marks if marks is not None else {"isr_shrunk": 1, "became_leader": 2},
        "trace_hash": trace_hash, "panic": None, "replay": f"replay {seed}",
    })


def summary_line(runs: int) -> str:
    return json.dumps({"kind": "sweep-summary", "runs": runs, "passed": runs})


def self_test() -> int:
    failures = []

    def check(condition: bool, what: str) -> None:
        print(f"  {'ok  ' if condition else 'FAIL'} {what}")
        if not condition:
            failures.append(what)

    print("normalisation")
    for raw, expected in [("isr_shrunk", "isr-shrunk"), ("isr-shrunk", "isr-shrunk"),
                          ("LeaderInIsr", "leader-in-isr"), ("leader-in-isr", "leader-in-isr"),
                          ("LogMatching", "log-matching"), ("lost-write", "lost-write"),
                          ("ISRShrunk", "isr-shrunk"), ("Raft2Node", "raft2-node")]:
        check(normalise_name(raw) == expected, f"{raw} -> {expected}")

    print("seed ranges")
    check(parse_seed_range("0..2000") == (0, 2000), "0..2000")
    check(parse_seed_range("0..=9") == (0, 10), "0..=9 includes 9")
    check(parse_seed_range("7") == (7, 8), "7 is one seed")
    for bad in ("5..5", "5..=4", "a..b", "3..1", "1...3", "-1"):
        try:
            parse_seed_range(bad)
            check(False, f"{bad!r} is rejected")
        except CompareError:
            check(True, f"{bad!r} is rejected")

    print("list output")
    listing = ("name                   guarantee      summary\n"
               "---------------------  -------------  -------\n"
               "\n"
               "acks0-fire-and-forget  at-most-once   acks=0: the producer never hears back\n"
               "safe-acks-all-swarm    at-least-once  the safe configuration: at least once\n"
               "  never-fsync wrapped summary words continue here\n")
    check(parse_list_output(listing) == ["acks0-fire-and-forget", "safe-acks-all-swarm"],
          "names from a table with a header, a separator and a wrapped line")

    print("sweep output")
    seeds = (0, 7)
    # Seed 0 only renames names (no difference); seeds 1..5 each plant one difference;
    # seed 6 is identical.
    before_lines = [
        run_line(0, checkers=("LeaderInIsr",), marks={"isr_shrunk": 1}),
        run_line(1, passed=True),
        run_line(2, checkers=("lost-write",)),
        run_line(3, marks={"isr_shrunk": 1}),
        run_line(4, marks={"isr_shrunk": 1, "became_leader": 2}),
        run_line(5, trace_hash="1111"),
        run_line(6),
        summary_line(7),
    ]
    after_lines = [
        run_line(0, checkers=("leader-in-isr",), marks={"isr-shrunk": 1}),
        run_line(1, passed=False),  # verdict
        run_line(2, checkers=("lost-write", "lost-write")),  # violations (count)
        run_line(3, marks={"isr-shrunk": 1, "became-follower": 1}),  # mark set
        run_line(4, marks={"isr-shrunk": 1, "became-leader": 3}),  # mark counts
        run_line(5, trace_hash="2222"),  # hash only
        run_line(6),
        summary_line(7),
    ]
    # Reports may arrive in any seed order.
    before = parse_sweep_output("\n".join(reversed(before_lines[:-1])) + "\n"
                                + before_lines[-1], seeds)
    after = parse_sweep_output("\n".join(after_lines), seeds)
    check(sorted(before.by_seed) == list(range(7)), "every seed parsed, in any order")
    check(before.by_seed[0].violations == collections.Counter({"leader-in-isr": 1}),
          "checker names normalised")

    comparison = compare_results("planted", before, after)
    expected_seeds = {VERDICT: [1], VIOLATIONS: [2], MARK_SET: [3], MARK_COUNTS: [4],
                      HASH: [5]}
    for category, planted in expected_seeds.items():
        check(comparison.differing_seeds[category] == planted,
              f"{category} difference found on seed {planted[0]} only "
              f"(found {comparison.differing_seeds[category]})")
    check(comparison.failing_seeds() == {1, 2, 3, 4}, "the hash alone does not fail a seed")

    clean = compare_results("clean", parse_sweep_output("\n".join(before_lines), seeds),
                            parse_sweep_output("\n".join(before_lines), seeds))
    check(clean.seeds_compared == 7
          and not any(clean.differing_seeds[category] for category in CATEGORIES),
          "a clean pair compares equal")
    renamed = compare_results(
        "renamed",
        parse_sweep_output(run_line(0, checkers=("LeaderInIsr",), marks={"isr_shrunk": 1})
                           + "\n" + summary_line(1), (0, 1)),
        parse_sweep_output(run_line(0, checkers=("leader-in-isr",), marks={"isr-shrunk": 1})
                           + "\n" + summary_line(1), (0, 1)))
    check(not any(renamed.differing_seeds[category] for category in CATEGORIES),
          "renamed marks and checkers compare equal")

    print("bad sweep output is an error, never a silent pass")
    bad_outputs = {
        "a missing seed": "\n".join(before_lines[:3] + before_lines[4:]),
        "a seed twice": "\n".join(before_lines[:1] + before_lines),
        "no summary line": "\n".join(before_lines[:-1]),
        "a line that is not JSON": "\n".join(before_lines[:2] + ["{oops"] + before_lines[2:]),
        "a report without marks": "\n".join(
            [json.dumps({key: value for key, value in json.loads(before_lines[0]).items()
                         if key != "marks"})] + before_lines[1:]),
        "a summary that counts other runs": "\n".join(before_lines[:-1] + [summary_line(8)]),
    }
    for what, text in bad_outputs.items():
        try:
            parse_sweep_output(text, seeds)
            check(False, what)
        except SweepOutputError:
            check(True, what)

    print("name collisions are noted")
    collided = parse_sweep_output(
        run_line(0, marks={"isr_shrunk": 1, "isr-shrunk": 2}) + "\n" + summary_line(1), (0, 1))
    check(collided.by_seed[0].marks == {"isr-shrunk": 3}
          and collided.name_collisions == {("isr-shrunk", "isr_shrunk")},
          "two spellings of one mark are summed and reported")

    print(f"\nself-test: {'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'}")
    return 1 if failures else 0


def main(argv: list) -> int:
    arguments = parse_arguments(argv)
    if arguments.self_test:
        return self_test()
    try:
        return compare(arguments)
    except CompareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
