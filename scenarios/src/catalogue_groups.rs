//! The consumer-group half of the catalogue: what a consumer application's order of
//! processing and committing, rebalances, fencing and coordinator failover do to what the
//! application processed (its sink), judged by the group checkers.
//!
//! Timing follows Kafka's defaults (45 s session, 3 s heartbeats, 5 min poll interval, 3 s
//! initial rebalance delay, 50 offsets partitions) unless a scenario's story needs another
//! value, which it then says.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::config::Assignor;
use watermark_broker_core::mark::Mark;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, Target};
use watermark_sim::processing::ProcessingMode;
use watermark_sim::scenario::{ConsumerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

/// A member of `group` whose application works in `mode`, `processing_ms` per record.
fn member(group: &str, mode: ProcessingMode, processing_ms: u64) -> ConsumerWorkload {
    let mut consumer = ConsumerWorkload {
        processing: Some(mode),
        processing_ms: Some(processing_ms),
        ..ConsumerWorkload::default()
    };
    consumer.config.group_id = Some(group.to_string());
    consumer.config.enable_auto_commit = mode.uses_auto_commit();
    consumer
}

/// Crashes consumer 0 `crash_after_ms` after its first accepted commit and restarts it a
/// second later (a new dynamic member: the group waits for the dead one's session to expire
/// before it rebalances).
fn crash_after_first_commit(builder: ScenarioBuilder, crash_after_ms: u64) -> ScenarioBuilder {
    let committed = Condition::MemberCommitted { consumer: 0 };
    builder
        .trigger(
            committed.clone(),
            crash_after_ms,
            vec![Fault::Crash {
                target: Target::Consumer(0),
            }],
        )
        .trigger(
            committed,
            crash_after_ms + 1_000,
            vec![Fault::Restart {
                target: Target::Consumer(0),
            }],
        )
}

/// Every group scenario, in teaching order.
pub fn group_catalogue() -> Vec<Result<Scenario, String>> {
    vec![
        commit_before_process_crash_loses(),
        process_then_commit_crash_duplicates(),
        auto_commit_async_processing_loses(),
        two_groups_each_get_everything(),
        coordinator_failover_keeps_offsets(),
        static_member_restart_no_rebalance(),
        cooperative_rebalance_keeps_unmoved_partitions(),
        slow_consumer_rebalanced_duplicates(),
        zombie_member_commit_refused(),
        stale_generation_commit_without_fencing(),
    ]
}

fn commit_before_process_crash_loses() -> Result<Scenario, String> {
    crash_after_first_commit(
        ScenarioBuilder::new("commit-before-process-crash-loses")
            .summary("commit, then process: a crash mid-batch loses what was committed but not processed")
            .explanation(
                "The application commits the positions of a whole poll before it processes the \
                 records (commitSync, then the loop). It crashes 300 ms into processing the \
                 batch. The restarted consumer joins as a new member; once the dead member's \
                 session expires the group rebalances and the new member starts from the \
                 committed offset, after records that were never processed: at most once, \
                 the documented result of committing first.",
            )
            .records(200, 10)
            .consumers(vec![member(
                "billing",
                ProcessingMode::CommitThenProcess,
                20,
            )]),
        300,
    )
    .expect(Guarantee::AtMostOnce)
    .expect_anomaly(Checker::Unprocessed)
    .expect_mark(Mark::ConsumerJoinedGroup)
    .expect_mark(Mark::GroupMemberSessionExpired)
    .build()
}

fn process_then_commit_crash_duplicates() -> Result<Scenario, String> {
    let mut consumer = member("billing", ProcessingMode::ProcessThenCommit, 20);
    // Small polls, so the application commits every 50 records.
    consumer.config.max_poll_records = 50;
    crash_after_first_commit(
        ScenarioBuilder::new("process-then-commit-crash-duplicates")
            .summary("process, then commit: a crash mid-batch processes records twice")
            .explanation(
                "The application processes a poll's records, then commits their positions. \
                 It crashes 300 ms after its first commit, in the middle of the next batch: \
                 what it processed since that commit is not committed. The restarted \
                 consumer, a new member, resumes from the committed offset after the dead \
                 member's session expires and processes those records again: at least once, \
                 with duplicates, the documented result of committing after processing.",
            )
            .records(200, 10)
            .consumers(vec![consumer]),
        300,
    )
    .expect(Guarantee::AtLeastOnce)
    .expect_anomaly(Checker::DuplicateProcess)
    .expect_mark(Mark::ConsumerJoinedGroup)
    .build()
}

fn auto_commit_async_processing_loses() -> Result<Scenario, String> {
    let mut consumer = member("billing", ProcessingMode::AutoCommitWorker, 50);
    // Auto-commit every second, so a commit lands while the worker is far behind.
    consumer.config.auto_commit_interval_ms = 1_000;
    ScenarioBuilder::new("auto-commit-async-processing-loses")
        .summary("auto-commit with processing handed to a worker: a crash loses the worker's queue")
        .explanation(
            "The poll loop hands each batch to a worker thread and polls on; auto-commit, \
             run inside poll, commits the positions of everything polls returned, which \
             includes records still waiting in the worker's queue. The consumer crashes 2 s \
             after a commit; its queue dies with it. The group resumes from the committed \
             offset, after records no one processed: the documented way to lose records \
             with auto-commit.",
        )
        .records(200, 10)
        .consumers(vec![consumer])
        .trigger(
            Condition::MemberCommitted { consumer: 0 },
            2_000,
            vec![Fault::Crash {
                target: Target::Consumer(0),
            }],
        )
        .trigger(
            Condition::MemberCommitted { consumer: 0 },
            3_000,
            vec![Fault::Restart {
                target: Target::Consumer(0),
            }],
        )
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::Unprocessed)
        .expect_mark(Mark::ConsumerJoinedGroup)
        .build()
}

fn two_groups_each_get_everything() -> Result<Scenario, String> {
    let mut consumers = Vec::new();
    for group in ["billing", "audit"] {
        for _ in 0..2 {
            consumers.push(member(group, ProcessingMode::ProcessThenCommit, 5));
        }
    }
    ScenarioBuilder::new("two-groups-each-get-everything")
        .summary("two groups read the same topic: each processes every record")
        .explanation(
            "Two groups of two members each subscribe to the same three-partition topic. A \
             group divides the partitions among its own members, and groups do not share \
             anything: each group's application processes every acknowledged record exactly \
             once when nothing fails.",
        )
        .partitions(3)
        .records(300, 10)
        .consumers(consumers)
        .expect(Guarantee::ExactlyOnce)
        .expect_mark(Mark::ConsumerJoinedGroup)
        .build()
}

fn coordinator_failover_keeps_offsets() -> Result<Scenario, String> {
    let mut consumer = member("billing", ProcessingMode::ProcessThenCommit, 20);
    consumer.config.max_poll_records = 50;
    let coordinator = Target::Coordinator("billing".to_string());
    ScenarioBuilder::new("coordinator-failover-keeps-offsets")
        .summary("the group coordinator dies: the next one replays the offsets partition")
        .explanation(
            "The broker leading the group's __consumer_offsets partition, its coordinator, \
             crashes while the group commits. The controller elects another replica of that \
             partition; its broker replays the partition's log, loads the group with its \
             generation, members and committed offsets, and the consumer finds it \
             (FindCoordinator) and goes on in the same generation. Nothing committed is \
             forgotten; records processed but not yet committed at the crash may be \
             processed again: at least once.",
        )
        .records(400, 10)
        .consumers(vec![consumer])
        .fault_at(
            6_000,
            Fault::Crash {
                target: coordinator.clone(),
            },
        )
        .fault_at(
            16_000,
            Fault::Restart {
                target: Target::AllBrokers,
            },
        )
        .expect(Guarantee::AtLeastOnce)
        .expect_mark(Mark::GroupsLoadedFromLog)
        .expect_mark(Mark::ConsumerCoordinatorRediscovered)
        .build()
}

fn static_member_restart_no_rebalance() -> Result<Scenario, String> {
    let mut consumers = Vec::new();
    for instance in ["billing-a", "billing-b"] {
        let mut consumer = member("billing", ProcessingMode::ProcessThenCommit, 5);
        consumer.config.group_instance_id = Some(instance.to_string());
        consumers.push(consumer);
    }
    ScenarioBuilder::new("static-member-restart-no-rebalance")
        .summary("a static member restarts within its session: no rebalance")
        .explanation(
            "Both members set group.instance.id (KIP-345). Member 0 crashes and restarts two \
             seconds later, well within the 45 s session timeout. Its JoinGroup names the \
             same instance id, so the coordinator hands it its old assignment under a new \
             member id and fences the old one, without a rebalance: member 1 keeps \
             processing throughout.",
        )
        .partitions(2)
        .records(300, 10)
        .consumers(consumers)
        .fault_at(
            8_000,
            Fault::Crash {
                target: Target::Consumer(0),
            },
        )
        .fault_at(
            10_000,
            Fault::Restart {
                target: Target::Consumer(0),
            },
        )
        .expect(Guarantee::AtLeastOnce)
        .expect_mark(Mark::StaticMemberRejoinedWithoutRebalance)
        .build()
}

fn cooperative_rebalance_keeps_unmoved_partitions() -> Result<Scenario, String> {
    let mut consumers = Vec::new();
    for start_ms in [1_000, 12_000] {
        let mut consumer = member("billing", ProcessingMode::ProcessThenCommit, 5);
        consumer.config.partition_assignment_strategy = vec![Assignor::CooperativeSticky];
        consumer.start_ms = start_ms;
        consumers.push(consumer);
    }
    ScenarioBuilder::new("cooperative-rebalance-keeps-unmoved-partitions")
        .summary("cooperative-sticky: a new member takes only the partitions that move")
        .explanation(
            "Member 0 owns all four partitions when member 1 joins at 12 s. With the \
             cooperative-sticky assignor (KIP-429) the rebalance takes two rounds: in the \
             first, member 0 keeps two partitions and revokes only the two that move; in the \
             second, member 1 gets them. Member 0 never stops processing the partitions it \
             keeps.",
        )
        .partitions(4)
        .records(400, 50)
        .consumers(consumers)
        .expect(Guarantee::AtLeastOnce)
        .expect_mark(Mark::ConsumerCooperativeKeptPartitions)
        .build()
}

fn slow_consumer_rebalanced_duplicates() -> Result<Scenario, String> {
    let mut consumers = Vec::new();
    for _ in 0..2 {
        let mut consumer = member("billing", ProcessingMode::ProcessThenCommit, 20);
        consumer.config.max_poll_records = 50;
        // A short poll interval, so the slow batch outlives it within the run.
        consumer.config.max_poll_interval_ms = 10_000;
        consumers.push(consumer);
    }
    ScenarioBuilder::new("slow-consumer-rebalanced-duplicates")
        .summary("processing slower than max.poll.interval.ms: the member is rebalanced away and records are processed twice")
        .explanation(
            "Member 0's downstream slows to a second per record at 8 s, in the middle of a \
             50-record batch. Its heartbeat thread goes on, but once 10 s pass without a \
             poll (max.poll.interval.ms) it leaves the group. The group gives its partition \
             to member 1, which resumes from member 0's last commit and processes what \
             member 0 processed since; member 0, still working through its batch, processes \
             records member 1 also processes, and its commit fails: it is no longer in a \
             generation. At least once, with duplicates.",
        )
        .partitions(2)
        .records(300, 30)
        .consumers(consumers)
        .fault_at(
            8_000,
            Fault::SlowProcessing {
                target: Target::Consumer(0),
                processing_ms: 1_000,
                duration_ms: 15_000,
            },
        )
        .expect(Guarantee::AtLeastOnce)
        .expect_anomaly(Checker::DuplicateProcess)
        .expect_mark(Mark::ConsumerPollTimeoutLeftGroup)
        .build()
}

/// How long consumer 0 and its coordinator hear nothing from each other: longer than the
/// 6 s session, so the coordinator removes the member and rebalances.
const ZOMBIE_CUT_MS: u64 = 8_000;
/// When the way back (coordinator to consumer 0) heals too, after the zombie's commit.
const ZOMBIE_HEAL_MS: u64 = 15_000;

/// The zombie story both fencing scenarios tell: two process-then-commit members of
/// `billing` on two partitions, with Kafka's smallest allowed session (6 s,
/// `group.min.session.timeout.ms`) so the story fits the run. Right after member 0's first
/// accepted commit its downstream slows to a second per record for 10 s (it is in the middle
/// of a 20-record batch) and the links between it and its coordinator are cut both ways.
/// At 8 s only the way there heals: its requests arrive, the answers do not, so it cannot
/// learn it was removed before it commits the batch with its old generation and member id.
/// At 15 s the way back heals too.
fn zombie_story(name: &str) -> ScenarioBuilder {
    let mut consumers = Vec::new();
    for _ in 0..2 {
        let mut consumer = member("billing", ProcessingMode::ProcessThenCommit, 20);
        consumer.config.max_poll_records = 20;
        consumer.config.session_timeout_ms = 6_000;
        consumers.push(consumer);
    }
    let zombie = Target::Consumer(0);
    let coordinator = Target::Coordinator("billing".to_string());
    let to_zombie = Fault::CutOneWay {
        from: coordinator.clone(),
        to: zombie.clone(),
    };
    let committed = Condition::MemberCommitted { consumer: 0 };
    ScenarioBuilder::new(name)
        .partitions(2)
        .records(300, 50)
        .consumers(consumers)
        .trigger(
            committed.clone(),
            0,
            vec![
                Fault::CutOneWay {
                    from: zombie.clone(),
                    to: coordinator,
                },
                to_zombie.clone(),
                Fault::SlowProcessing {
                    target: zombie,
                    processing_ms: 1_000,
                    duration_ms: 10_000,
                },
            ],
        )
        // HealAll repairs every link; the way back is cut again at the same instant.
        .trigger(
            committed.clone(),
            ZOMBIE_CUT_MS,
            vec![Fault::HealAll, to_zombie],
        )
        .trigger(committed, ZOMBIE_HEAL_MS, vec![Fault::HealAll])
}

fn zombie_member_commit_refused() -> Result<Scenario, String> {
    zombie_story("zombie-member-commit-refused")
        .summary("a member removed while it still processes commits with its old generation: the coordinator refuses it")
        .explanation(
            "Member 0 is cut off from its coordinator in the middle of a slow batch. Hearing \
             no heartbeat for its 6 s session, the coordinator removes it and rebalances: \
             member 1, in generation 2, takes its partition from its last commit and \
             processes again what member 0 is still processing. Member 0 does not know: its \
             heartbeats' answers are lost, so when it finishes the batch it still believes \
             it is in generation 1, and its commitSync reaches the coordinator with that \
             generation and a member id the group no longer has. The coordinator refuses it \
             (UNKNOWN_MEMBER_ID, checked before the generation), so the zombie cannot move \
             the group's offset back behind member 1's. Fencing protects the offsets, not \
             the side effects: the zombie's batch was processed twice, at least once.",
        )
        .expect(Guarantee::AtLeastOnce)
        .expect_anomaly(Checker::DuplicateProcess)
        .expect_mark(Mark::GroupMemberSessionExpired)
        .expect_mark(Mark::CommitRefusedUnknownMember)
        .expect_mark(Mark::ConsumerCommitRefused)
        .build()
}

fn stale_generation_commit_without_fencing() -> Result<Scenario, String> {
    zombie_story("stale-generation-commit-without-fencing")
        .summary("without generation fencing the zombie's late commit rewinds the group: records are processed again")
        .explanation(
            "The zombie story of zombie-member-commit-refused on a coordinator with the \
             no-generation-fencing bug switch, which accepts commits from any generation and \
             member. Member 1 has long committed past the zombie's batch when the zombie's \
             commit of generation 1 arrives; the coordinator accepts it and the group's \
             committed offset goes back. When the links heal the zombie learns it was \
             removed, rejoins, and the rebalance hands its old partition to a member that \
             starts from the rewound offset and processes everything after it a second \
             time. Nothing is lost, but the rewind repeats work no failure required.",
        )
        .bug(BugSwitch::NoGenerationFencing)
        .expect(Guarantee::AtLeastOnce)
        .expect_anomaly(Checker::FencedCommitAccepted)
        .expect_anomaly(Checker::CommittedOffsetBackwards)
        .expect_anomaly(Checker::DuplicateProcess)
        .expect_mark(Mark::GroupMemberSessionExpired)
        .expect_mark(Mark::CommitAcceptedWithoutFencing)
        .build()
}
