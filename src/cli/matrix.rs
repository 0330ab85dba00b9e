//! `watermark matrix`: a grid of delivery settings run under a fault swarm, each cell's
//! observed guarantee beside the one Kafka documents for its settings
//! (`watermark_sim::documented_guarantees`), and every cell where they disagree marked; and
//! `watermark matrix --documented`, which runs each documented row on the catalogue
//! scenarios that demonstrate it and prints the documented table with an observed column.
//!
//! A cell is the swarm with the cell's settings stated over its own, exactly as
//! `--set AXIS=VALUE` states them (so a cell's replay line is a `watermark run … --set …`),
//! and its Kafka version applied as `--kafka` applies it. Each seed is judged against the
//! rows that apply to the configuration that seed drew.
//!
//! Exit codes: 0 when no cell is weaker than documented (a cell stronger than documented is
//! weaker evidence, not a failure), 1 when one is, 2 bad input, 3 when a run panicked. With
//! `--documented`, a row whose scenarios never showed the anomaly the row documents is not
//! reproduced, and exits 1 too.

use crate::cli::args::MatrixArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::invocation::Invocation;
use crate::cli::outcomes::{checkers_reporting, runs_panicked, runs_showing, Outcome};
use crate::cli::output::replay_command;
use crate::cli::source::{parse_bugs, resolve, Choice};
use serde::Serialize;
use std::str::FromStr;
use watermark_broker_core::bugs::{BugSwitch, BugSwitches};
use watermark_broker_core::kafka_version::KafkaVersion;
use watermark_broker_core::mark::Mark;
use watermark_sim::cell_settings::{Axis, Setting};
use watermark_sim::checkers::Checker;
use watermark_sim::configuration::draw_and_apply;
use watermark_sim::documented_guarantees::{
    documented_for, documented_row_alone, showed, Aspect, Documented, DocumentedRow,
    GuaranteeSettings, Promise, DOCUMENTED_ROWS,
};
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::scenario::Scenario;
use watermark_sim::sweep::sweep;
use watermark_sim::verdict::Guarantee;

/// The swarm a grid runs on when the command line names none.
pub const DEFAULT_SWARM: &str = "safe-acks-all-swarm";
/// The swarm with group consumers that process and commit (for `--commit`).
pub const GROUP_SWARM: &str = "safe-consumer-group-swarm";
/// The swarm with transactions and read_committed readers (for `--isolation`).
pub const TRANSACTION_SWARM: &str = "exactly-once-pipeline-swarm";

/// The grid when no axis is given: the producer and broker settings of the documented table.
const DEFAULT_GRID: [(Axis, &str); 4] = [
    (Axis::Acks, "0,1,all"),
    (Axis::MinInsync, "1,2"),
    (Axis::Unclean, "off,on"),
    (Axis::Flush, "never,every-message"),
];

/// How a cell's or a row's observation compares with the documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agreement {
    /// Observed and documented agree on every aspect the documentation speaks to.
    Agrees,
    /// The documentation allows an anomaly no seed showed: the swarm did not exercise the
    /// documented weakness (weaker evidence, not a failure of the model).
    Stronger,
    /// Weaker than documented, but only through an open Kafka bug the model reproduces on
    /// purpose (KAFKA-14034): real Kafka breaks its documented promise the same way.
    KnownKafkaBug,
    /// Weaker than documented under an older Kafka version, and the same seeds keep the
    /// promise with that release's historical bug switches off: the release's bugs broke it,
    /// as they broke it in that release.
    ReleaseBug,
    /// A documented promise was broken: the model lost, duplicated or reordered where Kafka
    /// says it cannot. A model bug (or a documentation gap) to look into.
    Weaker,
    /// A run panicked: the simulator or an actor broke, the verdict says nothing.
    Panicked,
    /// The cell cannot run: Kafka refuses its settings together, or the version lacks a
    /// feature the swarm uses.
    Refused,
}

impl Agreement {
    /// The mark in the tables.
    pub fn mark(self) -> &'static str {
        match self {
            Agreement::Agrees => "✓",
            Agreement::Stronger => "△ stronger",
            Agreement::KnownKafkaBug => "‡ KAFKA-14034",
            Agreement::ReleaseBug => "† release bug",
            Agreement::Weaker => "✗ weaker",
            Agreement::Panicked => "💥 panicked",
            Agreement::Refused => "n/a",
        }
    }

    /// The legend printed under every table.
    pub const LEGEND: [(Agreement, &'static str); 7] = [
        (
            Agreement::Agrees,
            "observed and documented agree on every aspect (loss, duplication, producer order) \
             the documentation speaks to",
        ),
        (
            Agreement::Weaker,
            "observed weaker than documented: Kafka's promise was broken in the model, a model \
             bug to look into (exit code 1); the replay line runs its first seed",
        ),
        (
            Agreement::Stronger,
            "observed stronger than documented: the documentation allows an anomaly no seed \
             showed, so these seeds did not exercise that weakness (weaker evidence: try more \
             seeds; exit code 0 for a grid, 1 for --documented, whose rows must reproduce)",
        ),
        (
            Agreement::KnownKafkaBug,
            "weaker than documented only through KAFKA-14034, open in Kafka 4.x: an idempotent \
             producer's epoch bump renumbers batches the leader already has, so real Kafka \
             writes them twice too (exit code 0)",
        ),
        (
            Agreement::ReleaseBug,
            "weaker than documented under an older Kafka version, and the same seeds keep the \
             promise with that release's historical bug switches off: the release's own bugs \
             (named in the note) broke it, as they did in that release (exit code 0)",
        ),
        (
            Agreement::Panicked,
            "a run panicked: its verdict says nothing (exit code 3)",
        ),
        (
            Agreement::Refused,
            "the cell cannot run: Kafka refuses these settings together, or the version lacks \
             a feature the swarm uses",
        ),
    ];
}

/// What the runs of one cell or one documented row showed, judged against the
/// documentation.
#[derive(Clone, Debug, Serialize)]
pub struct Judgement {
    pub runs: usize,
    /// Runs where something acknowledged or committed was lost (as `watermark versions`
    /// counts them).
    pub lost: usize,
    /// Runs where something was stored or processed twice.
    pub duplicated: usize,
    /// Runs where replicas ended with different records at one offset.
    pub diverged: usize,
    /// Runs where a producer's records landed out of send order (`nonmonotonic-send`).
    pub reordered: usize,
    pub panicked: usize,
    /// The weakest guarantee any run gave (`None`: no run finished).
    pub observed: Option<Guarantee>,
    /// What the documentation promises: the rows that apply, and per aspect what they say.
    pub documented: Documented,
    pub documented_guarantee: Guarantee,
    pub agreement: Agreement,
    /// The aspects where some run was weaker than documented (not through KAFKA-14034).
    pub weaker: Vec<Aspect>,
    /// The aspects weaker than documented only through KAFKA-14034.
    pub known_kafka_bug: Vec<Aspect>,
    /// The aspects the documentation allows that no run showed.
    pub stronger: Vec<Aspect>,
    /// The checkers that reported, by their source's name.
    pub checkers: Vec<String>,
    /// The first seed behind the agreement (weaker, the known bug, or a panic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seed: Option<u64>,
    /// Every seed weaker than documented (not through KAFKA-14034).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weaker_seeds: Vec<u64>,
    /// For a release bug: the release's switches that were on, and without which the weaker
    /// seeds keep the promise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub release_switches: Vec<String>,
}

/// Judges `reports` (any order), each against the documentation for its own run.
pub fn judge(reports: &[RunReport], documented: &[Documented]) -> Judgement {
    let mut pairs: Vec<(&RunReport, &Documented)> = reports.iter().zip(documented).collect();
    pairs.sort_by_key(|(report, _)| report.seed);
    let finished: Vec<&(&RunReport, &Documented)> = pairs
        .iter()
        .filter(|(report, _)| report.panic.is_none())
        .collect();
    let mut merged = Documented::default();
    for documented in documented {
        merged.merge(documented);
    }
    let checkers_of = |report: &RunReport| -> Vec<Checker> {
        report.violations.iter().map(|v| v.checker).collect()
    };
    let shows =
        |report: &RunReport, aspect: Aspect| showed(aspect, report.observed, &checkers_of(report));
    let explained_by_known_bug = |report: &RunReport, aspect: Aspect| {
        matches!(aspect, Aspect::Duplication | Aspect::Reordering)
            && report
                .marks
                .contains_key(&Mark::ProducerRenumberedSentBatches)
    };
    let mut weaker = Vec::new();
    let mut known_kafka_bug = Vec::new();
    let mut stronger = Vec::new();
    let mut first_weaker: Option<u64> = None;
    let mut first_known: Option<u64> = None;
    let mut weaker_seeds: Vec<u64> = Vec::new();
    for aspect in Aspect::ALL {
        let broken: Vec<&RunReport> = finished
            .iter()
            .filter(|(report, documented)| {
                documented.promise(aspect) == Some(Promise::Forbids) && shows(report, aspect)
            })
            .map(|(report, _)| *report)
            .collect();
        let unexplained: Vec<&&RunReport> = broken
            .iter()
            .filter(|report| !explained_by_known_bug(report, aspect))
            .collect();
        weaker_seeds.extend(unexplained.iter().map(|report| report.seed));
        if let Some(report) = unexplained.first() {
            weaker.push(aspect);
            first_weaker = Some(first_weaker.map_or(report.seed, |seed| seed.min(report.seed)));
        } else if let Some(report) = broken.first() {
            known_kafka_bug.push(aspect);
            first_known = Some(first_known.map_or(report.seed, |seed| seed.min(report.seed)));
        }
        let shown_anywhere = finished.iter().any(|(report, _)| shows(report, aspect));
        if merged.promise(aspect) == Some(Promise::Allows)
            && !shown_anywhere
            && !finished.is_empty()
        {
            stronger.push(aspect);
        }
    }
    let first_panicked = pairs
        .iter()
        .find(|(report, _)| report.panic.is_some())
        .map(|(report, _)| report.seed);
    let (agreement, first_seed) = if first_panicked.is_some() {
        (Agreement::Panicked, first_panicked)
    } else if !weaker.is_empty() {
        (Agreement::Weaker, first_weaker)
    } else if !known_kafka_bug.is_empty() {
        (Agreement::KnownKafkaBug, first_known)
    } else if !stronger.is_empty() {
        (Agreement::Stronger, None)
    } else {
        (Agreement::Agrees, None)
    };
    weaker_seeds.sort_unstable();
    weaker_seeds.dedup();
    let observed = finished
        .iter()
        .map(|(report, _)| report.observed)
        .reduce(weakest);
    Judgement {
        runs: reports.len(),
        lost: runs_showing(reports, Outcome::Lost),
        duplicated: runs_showing(reports, Outcome::Duplicated),
        diverged: runs_showing(reports, Outcome::Diverged),
        reordered: finished
            .iter()
            .filter(|(report, _)| shows(report, Aspect::Reordering))
            .count(),
        panicked: runs_panicked(reports),
        observed,
        documented_guarantee: merged.guarantee(),
        documented: merged,
        agreement,
        weaker,
        known_kafka_bug,
        stronger,
        checkers: checkers_reporting(reports, None),
        first_seed,
        weaker_seeds,
        release_switches: Vec::new(),
    }
}

/// The weaker of two guarantees on each of loss and duplication.
fn weakest(left: Guarantee, right: Guarantee) -> Guarantee {
    let loses = |guarantee: Guarantee| matches!(guarantee, Guarantee::AtMostOnce | Guarantee::None);
    let duplicates =
        |guarantee: Guarantee| matches!(guarantee, Guarantee::AtLeastOnce | Guarantee::None);
    Guarantee::from_anomalies(
        loses(left) || loses(right),
        duplicates(left) || duplicates(right),
    )
}

/// One cell of the grid.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// The stated settings, in axis order (`acks=1`).
    pub settings: Vec<String>,
    /// The Kafka version profile, when the grid varies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka: Option<String>,
    /// Why the cell cannot run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    #[serde(flatten)]
    pub judgement: Option<Judgement>,
    /// The command that replays the cell's first seed behind its agreement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    #[serde(skip)]
    pub stated: Vec<Setting>,
}

impl Cell {
    pub fn agreement(&self) -> Agreement {
        self.judgement
            .as_ref()
            .map_or(Agreement::Refused, |judgement| judgement.agreement)
    }
}

/// The whole grid.
#[derive(Clone, Debug, Serialize)]
pub struct Grid {
    pub swarm: String,
    pub seeds: String,
    /// The axes the grid varies, each with its values as given.
    pub axes: Vec<(String, Vec<String>)>,
    pub cells: Vec<Cell>,
}

/// One documented row, run on its scenarios.
#[derive(Clone, Debug, Serialize)]
pub struct RowResult {
    pub id: &'static str,
    pub settings: &'static str,
    pub documented_result: &'static str,
    pub source: &'static str,
    pub in_design_table: bool,
    pub scenarios: Vec<&'static str>,
    #[serde(flatten)]
    pub judgement: Judgement,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

/// The documented table with its observed column.
#[derive(Clone, Debug, Serialize)]
pub struct DocumentedTable {
    pub seeds: String,
    pub rows: Vec<RowResult>,
}

pub fn matrix_command(args: &MatrixArgs) -> Result<Exit, BadInput> {
    let seeds: Vec<u64> = crate::cli::seed_range(&args.seeds)?.collect();
    let jobs = crate::cli::jobs(args.jobs);
    let format = OutputFormat::parse(&args.format, args.json)?;
    let invocation = Invocation::current();
    if args.documented {
        if let Some(axis) = args.axes().iter().find(|(_, list)| list.is_some()) {
            return Err(BadInput(format!(
                "--documented runs the documented rows on their own scenarios; --{} belongs \
                 to a grid (leave out --documented)",
                axis.0
            )));
        }
        if args.swarm.is_some() || !args.bugs.is_empty() {
            return Err(BadInput(
                "--documented runs each row on its own catalogue scenarios as they are; leave \
                 out --swarm and --bug"
                    .to_string(),
            ));
        }
        let table = documented_table(&args.seeds, &seeds, jobs, &invocation)?;
        let exit = documented_exit(&table);
        crate::cli::print(&match format {
            OutputFormat::Markdown => crate::cli::matrix_render::documented_markdown(&table),
            OutputFormat::Html => crate::cli::matrix_render::documented_html(&table),
            OutputFormat::Json => serde_json::to_string(&table).unwrap_or_default() + "\n",
        });
        return Ok(exit);
    }
    let grid = grid(args, &seeds, jobs, &invocation)?;
    let exit = grid_exit(&grid);
    crate::cli::print(&match format {
        OutputFormat::Markdown => crate::cli::matrix_render::grid_markdown(&grid),
        OutputFormat::Html => crate::cli::matrix_render::grid_html(&grid),
        OutputFormat::Json => serde_json::to_string(&grid).unwrap_or_default() + "\n",
    });
    Ok(exit)
}

/// How the result is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutputFormat {
    Markdown,
    Html,
    Json,
}

impl OutputFormat {
    fn parse(format: &str, json: bool) -> Result<OutputFormat, BadInput> {
        let parsed = match format {
            "markdown" | "md" => OutputFormat::Markdown,
            "html" => OutputFormat::Html,
            "json" => OutputFormat::Json,
            other => {
                return Err(BadInput(format!(
                    "--format: unknown format `{other}`; allowed: markdown, html, json"
                )))
            }
        };
        match (json, parsed) {
            (false, parsed) => Ok(parsed),
            (true, OutputFormat::Markdown | OutputFormat::Json) => Ok(OutputFormat::Json),
            (true, OutputFormat::Html) => Err(BadInput(
                "--json and --format html ask for two outputs; give one".to_string(),
            )),
        }
    }
}

/// 3 if a run panicked, else 1 if a cell is weaker than documented, else 0.
pub fn grid_exit(grid: &Grid) -> Exit {
    let agreements = grid.cells.iter().map(Cell::agreement);
    exit_for(agreements, false)
}

/// As for a grid, and a row stronger than documented is not reproduced: 1.
pub fn documented_exit(table: &DocumentedTable) -> Exit {
    exit_for(table.rows.iter().map(|row| row.judgement.agreement), true)
}

fn exit_for(agreements: impl Iterator<Item = Agreement>, stronger_fails: bool) -> Exit {
    agreements
        .map(|agreement| match agreement {
            Agreement::Panicked => Exit::Panicked,
            Agreement::Weaker => Exit::NotMet,
            Agreement::Stronger if stronger_fails => Exit::NotMet,
            _ => Exit::Met,
        })
        .max()
        .unwrap_or(Exit::Met)
}

impl MatrixArgs {
    /// Every settings axis with its list as given.
    pub fn axes(&self) -> [(&'static str, Option<&String>); 8] {
        [
            (Axis::Acks.name(), self.acks.as_ref()),
            (Axis::MinInsync.name(), self.min_insync.as_ref()),
            (Axis::Unclean.name(), self.unclean.as_ref()),
            (Axis::Flush.name(), self.flush.as_ref()),
            (Axis::Idempotence.name(), self.idempotence.as_ref()),
            (Axis::Isolation.name(), self.isolation.as_ref()),
            (Axis::Commit.name(), self.commit.as_ref()),
            ("kafka", self.kafka.as_ref()),
        ]
    }
}

/// The swarm a grid runs on: `--swarm`, else the one the axes need.
fn choose_swarm(args: &MatrixArgs) -> Result<String, BadInput> {
    if let Some(swarm) = &args.swarm {
        return Ok(swarm.clone());
    }
    match (args.commit.is_some(), args.isolation.is_some()) {
        (true, true) => Err(BadInput(format!(
            "--commit needs {GROUP_SWARM} and --isolation needs {TRANSACTION_SWARM}; give one \
             of them, or --swarm with a scenario that has both"
        ))),
        (true, false) => Ok(GROUP_SWARM.to_string()),
        (false, true) => Ok(TRANSACTION_SWARM.to_string()),
        (false, false) => Ok(DEFAULT_SWARM.to_string()),
    }
}

/// Runs every cell of the grid.
pub fn grid(
    args: &MatrixArgs,
    seeds: &[u64],
    jobs: usize,
    invocation: &Invocation,
) -> Result<Grid, BadInput> {
    let swarm = choose_swarm(args)?;
    let bugs = parse_bugs(&args.bugs)?;
    // A misspelled swarm is an error before any run.
    resolve(&swarm, &Choice::default())?;
    let given_any = args.axes().iter().any(|(_, list)| list.is_some());
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    let mut setting_lists: Vec<Vec<Setting>> = Vec::new();
    for axis in Axis::ALL {
        let given = args
            .axes()
            .into_iter()
            .find(|(name, _)| *name == axis.name())
            .and_then(|(_, list)| list.cloned());
        let list = match given {
            Some(list) => Some(list),
            None if !given_any => DEFAULT_GRID
                .iter()
                .find(|(default_axis, _)| *default_axis == axis)
                .map(|(_, list)| (*list).to_string()),
            None => None,
        };
        if let Some(list) = list {
            let settings = axis.parse_list(&list).map_err(BadInput)?;
            axes.push((
                axis.name().to_string(),
                settings.iter().map(|setting| setting.value()).collect(),
            ));
            setting_lists.push(settings);
        }
    }
    let versions: Vec<Option<KafkaVersion>> = match &args.kafka {
        None => vec![None],
        Some(list) => {
            let versions = parse_versions(list)?;
            axes.push((
                "kafka".to_string(),
                versions
                    .iter()
                    .map(|version| version.name().to_string())
                    .collect(),
            ));
            versions.into_iter().map(Some).collect()
        }
    };
    let mut cells = Vec::new();
    for version in &versions {
        for stated in product(&setting_lists) {
            cells.push(run_cell(
                &swarm, &stated, *version, &bugs, seeds, jobs, invocation,
            )?);
        }
    }
    Ok(Grid {
        swarm,
        seeds: args.seeds.clone(),
        axes,
        cells,
    })
}

/// `--kafka 3.0,4.1`.
fn parse_versions(list: &str) -> Result<Vec<KafkaVersion>, BadInput> {
    let allowed: Vec<&str> = KafkaVersion::ALL
        .iter()
        .map(|version| version.name())
        .collect();
    if list.trim().is_empty() {
        return Err(BadInput(format!(
            "--kafka: an empty list; allowed: one or more of {}, separated by commas",
            allowed.join(", ")
        )));
    }
    let mut versions: Vec<KafkaVersion> = Vec::new();
    for text in list.split(',') {
        let version = KafkaVersion::from_str(text.trim()).map_err(|_| {
            BadInput(format!(
                "--kafka: unknown version `{}`; allowed: {}",
                text.trim(),
                allowed.join(", ")
            ))
        })?;
        if versions.contains(&version) {
            return Err(BadInput(format!(
                "--kafka: `{}` is given twice in `{list}`",
                text.trim()
            )));
        }
        versions.push(version);
    }
    Ok(versions)
}

/// Every combination, one value per axis, the first axis varying slowest.
fn product(lists: &[Vec<Setting>]) -> Vec<Vec<Setting>> {
    let mut combinations: Vec<Vec<Setting>> = vec![Vec::new()];
    for list in lists {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                list.iter().map(move |setting| {
                    let mut combination = prefix.clone();
                    combination.push(*setting);
                    combination
                })
            })
            .collect();
    }
    combinations
}

/// Runs one cell: the swarm with the stated settings and version, every seed.
pub fn run_cell(
    swarm: &str,
    stated: &[Setting],
    version: Option<KafkaVersion>,
    bugs: &[BugSwitch],
    seeds: &[u64],
    jobs: usize,
    invocation: &Invocation,
) -> Result<Cell, BadInput> {
    let choice = Choice {
        kafka: version,
        bugs: bugs.to_vec(),
        settings: stated.to_vec(),
    };
    let mut cell = Cell {
        settings: stated.iter().map(ToString::to_string).collect(),
        kafka: version.map(|version| version.name().to_string()),
        refused: None,
        judgement: None,
        replay: None,
        stated: stated.to_vec(),
    };
    let scenario = match resolve(swarm, &choice) {
        Ok(resolved) => resolved.scenario,
        Err(refusal) => {
            // The swarm exists (checked before any cell), so this is the cell's settings.
            let prefix = format!("{swarm}: ");
            let reason = refusal.0.trim_start_matches(&prefix);
            cell.refused = Some(reason.trim_start_matches("--set ").to_string());
            return Ok(cell);
        }
    };
    let reports = sweep(&scenario, seeds, jobs, RunOptions::default(), |_| {});
    let documented: Vec<Documented> = reports
        .iter()
        .map(|report| documented_for_seed(&scenario, report.seed))
        .collect();
    let mut judgement = judge(&reports, &documented);
    if let (Agreement::Weaker, Some(version)) = (judgement.agreement, version) {
        attribute_to_release(&scenario, version, &mut judgement, jobs);
    }
    cell.replay = judgement
        .first_seed
        .map(|seed| replay_command(invocation, swarm, seed, &choice));
    cell.judgement = Some(judgement);
    Ok(cell)
}

/// A weaker cell under an older version: the weaker seeds run again with the release's
/// historical switches off (its defaults kept). When none of them is weaker then, the
/// switches broke the promise, not the model: the cell is a release bug.
fn attribute_to_release(
    scenario: &Scenario,
    version: KafkaVersion,
    judgement: &mut Judgement,
    jobs: usize,
) {
    // Only the release's switches are set aside; a `--bug` the user added stays on.
    let (switches, kept): (Vec<BugSwitch>, Vec<BugSwitch>) = scenario
        .bugs
        .enabled()
        .into_iter()
        .partition(|switch| version.has(*switch));
    if switches.is_empty() {
        return;
    }
    let mut without = scenario.clone();
    without.bugs = BugSwitches::default();
    for switch in kept {
        without.bugs.enable(switch);
    }
    let reports = sweep(
        &without,
        &judgement.weaker_seeds,
        jobs,
        RunOptions::default(),
        |_| {},
    );
    let documented: Vec<Documented> = reports
        .iter()
        .map(|report| documented_for_seed(&without, report.seed))
        .collect();
    let again = judge(&reports, &documented);
    if matches!(
        again.agreement,
        Agreement::Agrees | Agreement::Stronger | Agreement::KnownKafkaBug
    ) {
        judgement.agreement = Agreement::ReleaseBug;
        judgement.release_switches = switches
            .iter()
            .map(|switch| switch.name().to_string())
            .collect();
    }
}

/// What the documentation promises for one seed of `scenario`: the rows that apply to the
/// configuration the seed draws.
pub fn documented_for_seed(scenario: &Scenario, seed: u64) -> Documented {
    let (applied, _) = draw_and_apply(scenario, seed);
    documented_for(&GuaranteeSettings::of(&applied))
}

/// Runs every documented row on its scenarios.
pub fn documented_table(
    seeds_text: &str,
    seeds: &[u64],
    jobs: usize,
    invocation: &Invocation,
) -> Result<DocumentedTable, BadInput> {
    let rows = DOCUMENTED_ROWS
        .iter()
        .map(|row| run_documented_row(row, seeds, jobs, invocation))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DocumentedTable {
        seeds: seeds_text.to_string(),
        rows,
    })
}

/// Runs one documented row on each of its scenarios, judged against that row alone.
pub fn run_documented_row(
    row: &'static DocumentedRow,
    seeds: &[u64],
    jobs: usize,
    invocation: &Invocation,
) -> Result<RowResult, BadInput> {
    let mut reports: Vec<RunReport> = Vec::new();
    let mut scenario_of_run: Vec<&'static str> = Vec::new();
    for name in row.scenarios {
        let scenario = resolve(name, &Choice::default())?.scenario;
        let runs = sweep(&scenario, seeds, jobs, RunOptions::default(), |_| {});
        scenario_of_run.extend(std::iter::repeat_n(*name, runs.len()));
        reports.extend(runs);
    }
    let documented = vec![documented_row_alone(row); reports.len()];
    // The first seed is looked for scenario by scenario, in the row's order.
    let mut judgement = judge(&reports, &documented);
    // The row's own guarantee, not the one its silence leaves open: `acks=1` is documented
    // as at most once though it says nothing about duplicates.
    judgement.documented_guarantee = row.guarantee;
    let mut replay = None;
    if judgement.first_seed.is_some() {
        for name in row.scenarios {
            let runs: Vec<RunReport> = reports
                .iter()
                .zip(&scenario_of_run)
                .filter(|(_, scenario)| *scenario == name)
                .map(|(report, _)| report.clone())
                .collect();
            let alone = judge(&runs, &documented[..runs.len()]);
            if alone.agreement == judgement.agreement {
                judgement.first_seed = alone.first_seed;
                replay = alone
                    .first_seed
                    .map(|seed| replay_command(invocation, name, seed, &Choice::default()));
                break;
            }
        }
    }
    Ok(RowResult {
        id: row.id,
        settings: row.settings,
        documented_result: row.documented,
        source: row.source,
        in_design_table: row.in_design_table,
        scenarios: row.scenarios.to_vec(),
        judgement,
        replay,
    })
}

#[cfg(test)]
#[path = "matrix_tests.rs"]
mod tests;
