//! The command line, declared with clap's derive API. Values whose errors must come out as
//! one `error:` line (seed ranges, shards, bug switches, scenario names) arrive as strings
//! and are parsed by the commands themselves; clap only rejects what is a usage error
//! (unknown flags and subcommands, a seed that is not a number), with its own exit code 2.

use clap::{Args, Parser, Subcommand};

/// Deterministic simulation testbed for Kafka-style message-delivery semantics.
///
/// Without a subcommand: the catalogue tour, every scenario over a few seeds and a table of
/// verdicts. Exit codes: 0 expectation met, 1 not met, 2 bad input or usage, 3 a run panicked.
#[derive(Debug, Parser)]
#[command(name = "watermark", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub tour: TourArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One line per catalogue scenario: name, expected guarantee, summary.
    List,
    /// Every checker: its name, its source, what it reads, its file (`--marks`: every
    /// coverage mark).
    Checkers(CheckersArgs),
    /// Every switch `--bug` accepts: a planted bug or older Kafka behaviour, the KIP or JIRA
    /// that changed it and the release it changed in.
    Switches,
    /// Run one scenario on one seed and print everything about the run.
    Run(RunArgs),
    /// Run one scenario over seeds under every Kafka version profile: which versions lose,
    /// duplicate or diverge, and why.
    Versions(VersionsArgs),
    /// A grid of delivery settings run under a fault swarm: each cell's observed guarantee
    /// beside Kafka's documented one, disagreements marked (`--documented`: the documented
    /// table, each row run on its catalogue scenarios).
    Matrix(MatrixArgs),
    /// Run many seeds of a scenario (or of the whole catalogue) in parallel.
    Sweep(SweepArgs),
    /// One summary from the `sweep --json` outputs of a sweep split with `--shard K/N`
    /// (one file per shard, every shard once).
    Merge(MergeArgs),
    /// The standard performance figures (see BENCHMARKS.md).
    Bench(BenchArgs),
    /// Print the JSON Schema of scenario files (docs/scenario.schema.json), for an editor's
    /// TOML language server.
    Schema(SchemaArgs),
    /// Write a commented starter scenario, NAME.toml, that runs as written.
    New(NewArgs),
    /// Run one seed and write it as one self-contained HTML page: a space-time diagram, the
    /// client history and the violations, with a step control (`--shiviz`: a ShiViz log).
    Report(ReportArgs),
    /// From a failing run, a smaller scenario that still fails with the same checker:
    /// fewer faults (delta debugging), shorter ones, the swarm written out as scheduled
    /// faults, fewer records, clients and brokers. Writes it as a TOML file that fails on
    /// its own with the same seed.
    Shrink(ShrinkArgs),
    /// The run as a story: every replica-state change with the reason for it and the
    /// replica table after it, client steps, faults, then the verdict with each violation
    /// explained.
    Explain(ExplainArgs),
    /// Run the client-history checkers on a history recorded elsewhere (Watermark's JSON
    /// lines from `run --history-out`, or a Jepsen Kafka workload `history.edn`) and print
    /// the verdict and violations as `run` does; checkers that need replica state are
    /// listed as not run.
    CheckHistory(CheckHistoryArgs),
}

/// Options of `watermark explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A catalogue name, or a scenario file whose path ends in `.toml`.
    #[arg(value_name = "SCENARIO|FILE.toml")]
    pub scenario: String,

    /// The seed; the same seed and code replay the same run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    pub switches: SwitchArgs,

    /// Only this partition's changes and table, e.g. `events-0`.
    #[arg(long, value_name = "TOPIC-P")]
    pub partition: Option<String>,

    /// Only this node's steps (and the faults that name it): `ctl`, `b1`, `prod0`, `cons0`.
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,

    /// Only steps at or after this simulated time: `2.5s` or `2500ms`.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// Only steps at or before this simulated time: `2.5s` or `2500ms`.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,

    /// Only these kinds, comma-separated: isr, hw, leader, truncation, log, client, fault.
    #[arg(long, value_name = "KINDS")]
    pub only: Option<String>,

    /// A handout in markdown: a heading per step, tables as markdown tables.
    #[arg(long, conflicts_with = "mermaid")]
    pub markdown: bool,

    /// A mermaid `sequenceDiagram`: a participant per node, messages as arrows, notes for
    /// ISR, high watermark and leader changes.
    #[arg(long)]
    pub mermaid: bool,
}

/// The options that choose the code a run executes: bug switches and a Kafka version
/// profile.
#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// Turn on a historical bug switch (repeatable), in addition to the scenario's own.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,

    /// Run as Kafka VERSION: its historical bug switches and its defaults for the settings
    /// the scenario leaves out (`watermark versions` compares them all).
    #[arg(long = "kafka", value_name = "VERSION")]
    pub kafka: Option<String>,

    /// State a delivery setting over the scenario's own and its swarm's draw (repeatable):
    /// `acks=0|1|all`, `min-insync=N`, `unclean=on|off`, `flush=never|every-message|N`,
    /// `idempotence=on|off`, `isolation=read_uncommitted|read_committed`,
    /// `commit=commit-then-process|process-then-commit`. A cell of `watermark matrix`.
    #[arg(long = "set", value_name = "AXIS=VALUE")]
    pub settings: Vec<String>,
}

/// Options of `watermark shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// A catalogue name, or a scenario file whose path ends in `.toml`.
    #[arg(value_name = "SCENARIO|FILE.toml")]
    pub scenario: String,

    /// The seed of the failing run; every candidate runs with it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Bug switches and a Kafka version profile; the written scenario states them itself.
    #[command(flatten)]
    pub switches: SwitchArgs,

    /// The file to write (default: SCENARIO-seed-N-shrunk.toml; replaced if it exists).
    #[arg(long, value_name = "FILE.toml")]
    pub out: Option<String>,

    /// The checker whose violation must stay (default: the first checker failing the run,
    /// invariants first).
    #[arg(long, value_name = "NAME")]
    pub checker: Option<String>,

    /// Candidate runs at most; the search stops there with the smallest failing scenario
    /// found.
    #[arg(
        long,
        value_name = "N",
        default_value_t = watermark_sim::shrinker::RUNS_MAX_DEFAULT as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_runs: u64,

    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,

    /// Print the outcome as one JSON object (sizes before and after, runs, the check).
    #[arg(long)]
    pub json: bool,
}

/// Options of `watermark schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the key reference generated from the schema (docs/SCENARIOS.md) instead.
    #[arg(long)]
    pub markdown: bool,
}

/// Options of `watermark new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The scenario's name: lowercase letters, digits and dashes.
    pub name: String,

    /// The file to write (default: NAME.toml); an existing file is never overwritten.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
}

/// Options of `watermark checkers`.
#[derive(Debug, Args)]
pub struct CheckersArgs {
    /// List the coverage marks scenarios can require instead.
    #[arg(long)]
    pub marks: bool,
}

/// Options of the tour (no subcommand).
#[derive(Debug, Args)]
pub struct TourArgs {
    /// Seeds to run each scenario on: `N` (one seed), `A..B` (B excluded) or `A..=B`.
    #[arg(long, value_name = "SEEDS", default_value = "0..3")]
    pub seeds: String,

    /// Worker threads (default: every core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A catalogue name, or a scenario file whose path ends in `.toml`.
    #[arg(value_name = "SCENARIO|FILE.toml")]
    pub scenario: String,

    /// The seed; the same seed and code replay the same run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    pub switches: SwitchArgs,

    /// Print the trace, one line per event, before the report.
    #[arg(long)]
    pub trace: bool,

    /// Print the report as one JSON object (with --trace: the trace as JSON lines first).
    #[arg(long)]
    pub json: bool,

    /// Print every step record first, one JSON object per line: what each node was fed
    /// (with message ids and fired timers), what it sent (and whether it was delivered or
    /// dropped), its events and marks; nemesis actions and checker findings.
    #[arg(long)]
    pub records: bool,

    /// Also write the run's client history to FILE as JSON lines (the `watermark-history`
    /// format, version 1: a header line, then one operation per line), for `watermark
    /// check-history`.
    #[arg(long, value_name = "FILE")]
    pub history_out: Option<String>,
}

/// Options of `watermark check-history`.
#[derive(Debug, Args)]
pub struct CheckHistoryArgs {
    /// A client history: Watermark's JSON lines (`run --history-out`) or a Jepsen Kafka
    /// workload `history.edn`.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// The file's format; without it, told by the extension (`.jsonl`, `.json`, `.edn`),
    /// then by the first characters.
    #[arg(long, value_name = "FORMAT", value_parser = ["jsonl", "edn"])]
    pub format: Option<String>,

    /// The guarantee to judge against, instead of the file's (`exactly-once`,
    /// `at-least-once`, `at-most-once`, `none`); a Jepsen history is judged against
    /// exactly-once with ordering preserved unless this says otherwise.
    #[arg(long, value_name = "GUARANTEE")]
    pub expect: Option<String>,

    /// Print the verdict as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// A catalogue name, or a scenario file whose path ends in `.toml`.
    #[arg(
        value_name = "SCENARIO|FILE.toml",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub scenario: Option<String>,

    /// Sweep every catalogue scenario.
    #[arg(long)]
    pub all: bool,

    /// Seeds: `N` (one seed), `A..B` (B excluded) or `A..=B` (B included).
    #[arg(long, value_name = "SEEDS", default_value = "0..100")]
    pub seeds: String,

    /// Stop at the first failing seed (the same as `--max-failures 1`).
    #[arg(long, conflicts_with = "max_failures")]
    pub fail_fast: bool,

    /// Stop at the N-th failing seed. Seeds are judged in order whatever `--jobs`, so the
    /// failures reported are the first N and the summary covers the seeds up to the N-th.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_failures: Option<u64>,

    /// Worker threads (default: every core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,

    /// Run only shard K of N (1-based): every N-th seed, so N machines can split a sweep.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    #[command(flatten)]
    pub switches: SwitchArgs,

    /// One JSON line per seed, then one summary line.
    #[arg(long)]
    pub json: bool,
}

/// Options of `watermark versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// A catalogue name, or a scenario file whose path ends in `.toml`.
    #[arg(value_name = "SCENARIO|FILE.toml")]
    pub scenario: String,

    /// Seeds for each version: `N` (one seed), `A..B` (B excluded) or `A..=B` (B included).
    #[arg(long, value_name = "SEEDS", default_value = "0..20")]
    pub seeds: String,

    /// Worker threads (default: every core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,

    /// Turn on a switch (repeatable) under every version.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,

    /// One JSON object per version instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `watermark matrix`. Each axis takes a comma list; an axis not given keeps the
/// swarm's own setting. With no axis at all the grid is acks × min-insync × unclean × flush.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Run each documented row on the catalogue scenarios that demonstrate it and print the
    /// documented table with an observed column, instead of a grid.
    #[arg(long)]
    pub documented: bool,

    /// The swarm each cell runs (a catalogue name or a `.toml` file). Default:
    /// safe-acks-all-swarm; safe-consumer-group-swarm with --commit;
    /// exactly-once-pipeline-swarm with --isolation.
    #[arg(long, value_name = "SCENARIO|FILE.toml")]
    pub swarm: Option<String>,

    /// Producer acks: 0, 1, all.
    #[arg(long, value_name = "LIST")]
    pub acks: Option<String>,

    /// Every topic's min.insync.replicas: numbers from 1 to the replication factor.
    #[arg(long = "min-insync", value_name = "LIST")]
    pub min_insync: Option<String>,

    /// Every topic's unclean.leader.election.enable: off, on.
    #[arg(long, value_name = "LIST")]
    pub unclean: Option<String>,

    /// Every broker's log.flush.interval.messages: never, every-message, or a number.
    #[arg(long, value_name = "LIST")]
    pub flush: Option<String>,

    /// The producers' enable.idempotence: off, on.
    #[arg(long, value_name = "LIST")]
    pub idempotence: Option<String>,

    /// Every consumer's isolation.level: read_uncommitted, read_committed.
    #[arg(long, value_name = "LIST")]
    pub isolation: Option<String>,

    /// The group consumers' commit mode: commit-then-process, process-then-commit.
    #[arg(long, value_name = "LIST")]
    pub commit: Option<String>,

    /// Kafka version profiles (see `watermark versions`): 0.8, ..., 4.1.
    #[arg(long, value_name = "LIST")]
    pub kafka: Option<String>,

    /// Turn on a switch (repeatable) in every cell: does the grid catch it?
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,

    /// Seeds of each cell (or each scenario of a documented row): `N`, `A..B` or `A..=B`.
    #[arg(long, value_name = "SEEDS", default_value = "0..20")]
    pub seeds: String,

    /// Worker threads (default: every core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,

    /// markdown (default), html (one self-contained page) or json.
    #[arg(long, value_name = "FORMAT", default_value = "markdown")]
    pub format: String,

    /// The same as `--format json`: one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Options of `watermark merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The output of `watermark sweep ... --shard K/N --json` of each shard.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,

    /// Print the merged summary as one JSON line (the form `sweep --json` ends with).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seeds per throughput measurement (default 200; 4 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: Option<u64>,

    /// Seeds of the larger memory sweep; the smaller one runs a tenth as many
    /// (default 10000; 40 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(10..))]
    pub memory_seeds: Option<u64>,

    /// Rounds of throughput measurements; figures are medians over rounds (default 5; 1
    /// with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100))]
    pub rounds: Option<u64>,

    /// Small counts, to check that the benchmark works end to end.
    #[arg(long)]
    pub quick: bool,

    /// The scenario to measure (catalogue name or `.toml` file).
    #[arg(
        long,
        value_name = "SCENARIO|FILE.toml",
        default_value = "safe-acks-all-swarm"
    )]
    pub scenario: String,

    /// Time to detect each bug instead: for every bug switch, sweeps of its catching
    /// scenario with the switch on, from several seed offsets, stop at the first failing
    /// seed; prints the median wall time on one job and on every core.
    #[arg(long)]
    pub detect: bool,

    /// With --detect: searches per switch, from seeds 0, 100000, 200000, … (default 5; 1
    /// with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub detect_offsets: Option<u64>,

    /// With --detect: seeds a search runs at most before it counts as missed.
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub detect_seeds_max: u64,

    /// With --detect: only this switch (repeatable; default every bug switch).
    #[arg(long = "detect-bug", value_name = "NAME")]
    pub detect_bugs: Vec<String>,
}

/// Options of `watermark report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A catalogue name, or a scenario file whose path ends in `.toml`.
    #[arg(value_name = "SCENARIO|FILE.toml")]
    pub scenario: String,

    /// The seed; the same seed and code replay the same run, and write the same file.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    pub switches: SwitchArgs,

    /// The file to write (replaced if it exists).
    #[arg(short, long, value_name = "FILE")]
    pub output: String,

    /// Write the run as a ShiViz log (one line per event with a vector clock) instead of
    /// the HTML page.
    #[arg(long)]
    pub shiviz: bool,
}
