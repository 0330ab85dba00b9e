"""What the repository's Python scripts (compare-behaviour.py, planted-bug-study.py) share:
reading seed ranges and `watermark list`, and the environment cargo must build in.
Standard library only."""

from __future__ import annotations

import os
import re
from pathlib import Path

# Guarantee names can stand first in a `watermark list` row; they are never scenarios.
GUARANTEE_NAMES = {"exactly-once", "at-least-once", "at-most-once", "none"}


def parse_seed_range(text: str, error: type[Exception] = ValueError) -> tuple[int, int]:
    """Seeds as `watermark sweep --seeds` takes them, `N` (one seed), `A..B` (B excluded) or
    `A..=B` (B included), as the half-open (A, B); anything else raises `error`, the caller's
    own exception class, so each script reports it its own way."""
    forms = "`N` (one seed), `A..B` (B excluded) or `A..=B` (B included)"
    match = re.fullmatch(r"\s*(\d+)\s*(?:(\.\.=?)\s*(\d+)\s*)?", text)
    if not match:
        raise error(f"seeds must be {forms}, got {text!r}")
    first = int(match.group(1))
    if match.group(2) is None:
        return first, first + 1
    end = int(match.group(3)) + (1 if match.group(2) == "..=" else 0)
    if end <= first:
        raise error(f"seed range {text!r} is empty; seeds must be {forms}")
    return first, end


def parse_list_output(text: str) -> list[str]:
    """Scenario names from `watermark list`: the first word of each table row, when it is a
    kebab-case name with at least one hyphen. Header words (`name`, `scenario`), separator
    rows (`----`), blank lines and guarantee names are skipped, so a header or a changed
    column layout does not turn into a fake scenario."""
    names = []
    for line in text.splitlines():
        words = line.split()
        # Rows start at the left margin; an indented line continues the previous row.
        if not words or line[0].isspace():
            continue
        first = words[0]
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", first):
            continue
        if first in GUARANTEE_NAMES:
            continue
        if first not in names:
            names.append(first)
    return names


def cargo_environment(target_dir: Path | None) -> dict:
    """The environment for cargo. The workspace's .cargo/config.toml sets `--cfg madsim`;
    any of these variables would replace that setting and the crates would refuse to build
    (or build a different program). CARGO_TARGET_DIR is set only where the caller chooses
    it, so a working tree's binary otherwise lands in target/release as the usage says."""
    environment = dict(os.environ)
    for variable in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS",
                     "CARGO_TARGET_DIR"):
        environment.pop(variable, None)
    if target_dir is not None:
        environment["CARGO_TARGET_DIR"] = str(target_dir)
    return environment
