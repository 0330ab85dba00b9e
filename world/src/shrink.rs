//! A failing scenario made smaller, as data. The shrinker (`watermark_sim::shrink`) runs
//! candidates; this module says what a candidate is and how big it is, without running
//! anything:
//!
//! - [`Shrinkable::materialise`] writes out what a seed makes of a scenario: the swarm's
//!   drawn configuration applied, and the swarm's plan as explicit scheduled faults and
//!   triggers, so the written scenario no longer depends on the swarm and runs exactly the
//!   same faults with the same seed;
//! - the fault schedule is a list of [`FaultUnit`]s — a fault with what undoes it (the
//!   restart of what a crash struck, the heal after a cut), or a trigger with its repairs —
//!   that delta debugging keeps or removes whole;
//! - the smaller variants: a fault lasting half as long, a trigger replaced by a scheduled
//!   fault at the moment it fired, fewer records, one client or one broker fewer;
//! - [`Size`]: faults, their total duration, records, clients and brokers.

use crate::configuration;
use crate::fault::{Condition, Fault, ScriptedFault, Target, Trigger};
use crate::not_applied::{NotApplied, NotAppliedReason};
use crate::scenario::Scenario;
use crate::step_record::{NemesisAction, Record};
use crate::swarm::swarm_schedule;
use crate::trigger::describe_condition;
use watermark_broker_core::ids::BrokerId;
use watermark_broker_core::topic::TopicName;

/// Faults that replace a trigger sort after every other fault due at the same moment: the
/// nemesis applies a trigger's faults after the scheduled ones due then.
const REPLACED_TRIGGER_ORDER: u64 = 1 << 32;

/// A scheduled fault and its place among faults due at the same moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    pub scripted: ScriptedFault,
    /// Ties at the same `at_ms` go by this, as the nemesis's stable sort of its schedule
    /// orders them: a scenario's own faults in file order, then the swarm's in draw order.
    pub order: u64,
}

/// One fault and what undoes it, kept or removed whole: a scheduled fault (the first of
/// `scheduled`) with its repairs (the others), or a trigger with its `later` repairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultUnit {
    pub trigger: Option<Trigger>,
    /// Faults at fixed times. Repairs at or after the end of the safety phase are kept here
    /// (so a shorter fault can bring them forward) but not written: the liveness phase
    /// repairs everything then.
    pub scheduled: Vec<Timed>,
}

/// How big a failing scenario is, in the order the shrinker values smaller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    /// Fault units: a fault with its repair counts once.
    pub faults: usize,
    /// The sum of every fault's duration: from the fault (or, for a trigger, the event) to
    /// its repair; a fault never repaired lasts to the end of the safety phase (a
    /// trigger's from when it is armed).
    pub fault_duration_ms: u64,
    /// Records every producer sends.
    pub records: u64,
    pub producers: usize,
    pub consumers: usize,
    pub brokers: u32,
}

impl std::fmt::Display for Size {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} faults ({} ms), {} records, {} producers, {} consumers, {} brokers",
            self.faults,
            self.fault_duration_ms,
            self.records,
            self.producers,
            self.consumers,
            self.brokers
        )
    }
}

/// A scenario as the shrinker changes it: everything but the faults, and the faults as
/// units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrinkable {
    /// The scenario without faults: its drawn configuration applied, no swarm.
    pub base: Scenario,
    pub units: Vec<FaultUnit>,
}

impl Shrinkable {
    /// What `seed` makes of `scenario`, written out: the configuration the swarm draws for
    /// the seed applied to the settings, and the swarm's plan (drawn from the seed alone) as
    /// scheduled faults and triggers after the scenario's own. Every swarm fault stays
    /// optional, as the nemesis treats it. The same seed then runs the same faults at the
    /// same moments; only the trace's wording differs (no swarm, no drawn configuration).
    pub fn materialise(scenario: &Scenario, seed: u64) -> Shrinkable {
        let (mut base, _drawn) = configuration::draw_and_apply(scenario, seed);
        let plan = base
            .faults
            .swarm
            .as_ref()
            .map(|swarm| swarm_schedule(swarm, &base, seed));
        let own = std::mem::take(&mut base.faults);
        let mut units = own_units(&own.scripted, &own.triggers);
        if let Some(plan) = plan {
            let first_order = own.scripted.len() as u64;
            let mut drawn: Vec<FaultUnit> = Vec::new();
            for (position, scripted) in plan.scripted.into_iter().enumerate() {
                let timed = Timed {
                    scripted: ScriptedFault {
                        optional: true,
                        ..scripted
                    },
                    order: first_order + position as u64,
                };
                // The swarm writes each fault right before its repair, and only faults
                // carry a label.
                match drawn.last_mut() {
                    Some(unit) if timed.scripted.label.is_none() => unit.scheduled.push(timed),
                    _ => drawn.push(FaultUnit {
                        trigger: None,
                        scheduled: vec![timed],
                    }),
                }
            }
            units.extend(drawn);
            units.extend(plan.triggers.into_iter().map(|trigger| FaultUnit {
                trigger: Some(Trigger {
                    optional: true,
                    ..trigger
                }),
                scheduled: Vec::new(),
            }));
        }
        Shrinkable { base, units }
    }

    /// The scenario to run or write: scheduled faults in time order (ties as the nemesis
    /// would order them), triggers in unit order, repairs due after the safety phase left
    /// out.
    pub fn scenario(&self) -> Scenario {
        let mut scenario = self.base.clone();
        let safety_ms = scenario.phases.safety_ms;
        let mut scheduled: Vec<&Timed> = self
            .units
            .iter()
            .flat_map(|unit| &unit.scheduled)
            .filter(|timed| timed.scripted.at_ms < safety_ms)
            .collect();
        scheduled.sort_by_key(|timed| (timed.scripted.at_ms, timed.order));
        scenario.faults.scripted = scheduled
            .into_iter()
            .map(|timed| timed.scripted.clone())
            .collect();
        scenario.faults.triggers = self
            .units
            .iter()
            .filter_map(|unit| unit.trigger.clone())
            .collect();
        scenario
    }

    pub fn size(&self) -> Size {
        let safety_ms = self.base.phases.safety_ms;
        Size {
            faults: self.units.len(),
            fault_duration_ms: self
                .units
                .iter()
                .map(|unit| unit.duration_ms(safety_ms))
                .sum(),
            records: self
                .base
                .producers
                .iter()
                .map(|producer| producer.records)
                .sum(),
            producers: self.base.producers.len(),
            consumers: self.base.consumers.len(),
            brokers: self.base.brokers,
        }
    }

    /// The same scenario with only these units.
    pub fn with_units(&self, units: Vec<FaultUnit>) -> Shrinkable {
        Shrinkable {
            base: self.base.clone(),
            units,
        }
    }

    /// Unit `index` lasting half as long (its repairs brought forward), or `None` when it
    /// has no repair to bring forward or is down to a millisecond.
    pub fn halved(&self, index: usize) -> Option<Shrinkable> {
        let safety_ms = self.base.phases.safety_ms;
        let unit = self.units.get(index)?.halved(safety_ms)?;
        let mut shorter = self.clone();
        shorter.units[index] = unit;
        Some(shorter)
    }

    /// Unit `index`'s trigger replaced by its faults scheduled at the moment it fired
    /// (`fired_ms`, from a run's records): the scenario no longer waits for the event.
    /// `None` for a unit without a trigger, one whose faults name the event's source, or
    /// one whose faults would fall after the safety phase.
    pub fn trigger_replaced(&self, index: usize, fired_ms: u64) -> Option<Shrinkable> {
        let unit = self.units.get(index)?;
        let trigger = unit.trigger.as_ref()?;
        let names_source = trigger
            .then
            .iter()
            .chain(trigger.later.iter().map(|later| &later.fault))
            .flat_map(Fault::targets)
            .any(|target| *target == Target::EventSource);
        let at_ms = fired_ms + trigger.delay_ms;
        if names_source || at_ms >= self.base.phases.safety_ms || trigger.then.is_empty() {
            return None;
        }
        let order = REPLACED_TRIGGER_ORDER + (index as u64) * 1_024;
        let then = trigger.then.iter().map(|fault| ScriptedFault {
            at_ms,
            fault: fault.clone(),
            label: trigger.label.clone(),
            optional: trigger.optional,
        });
        let later = trigger.later.iter().map(|later| ScriptedFault {
            at_ms: fired_ms + later.at_ms,
            fault: later.fault.clone(),
            label: later.label.clone(),
            optional: trigger.optional || later.optional,
        });
        let mut scheduled: Vec<Timed> = then
            .chain(later)
            .enumerate()
            .map(|(position, scripted)| Timed {
                scripted,
                order: order + position as u64,
            })
            .collect();
        scheduled.extend(unit.scheduled.iter().cloned());
        let mut replaced = self.clone();
        replaced.units[index] = FaultUnit {
            trigger: None,
            scheduled,
        };
        Some(replaced)
    }

    /// Producer `producer` sending `records` records; `None` for no change or none at all.
    pub fn with_records(&self, producer: usize, records: u64) -> Option<Shrinkable> {
        let current = self.base.producers.get(producer)?.records;
        if records == 0 || records == current {
            return None;
        }
        let mut fewer = self.clone();
        fewer.base.producers[producer].records = records;
        Some(fewer)
    }

    /// Without producer `index`: faults aimed at it are removed with their units, later
    /// producers renumbered.
    pub fn without_producer(&self, index: usize) -> Option<Shrinkable> {
        if index >= self.base.producers.len() {
            return None;
        }
        let mut fewer = self.clone();
        fewer.base.producers.remove(index);
        let index = index as u32;
        fewer.units = self
            .units
            .iter()
            .filter_map(|unit| {
                unit.renumbered(
                    &|target| match target {
                        Target::Producer(producer) if *producer == index => None,
                        Target::Producer(producer) if *producer > index => {
                            Some(Target::Producer(producer - 1))
                        }
                        other => Some(other.clone()),
                    },
                    &|condition| Some(condition.clone()),
                )
            })
            .collect();
        Some(fewer)
    }

    /// Without consumer `index`: faults aimed at it and triggers waiting for its commits
    /// are removed with their units, later consumers renumbered.
    pub fn without_consumer(&self, index: usize) -> Option<Shrinkable> {
        if index >= self.base.consumers.len() {
            return None;
        }
        let mut fewer = self.clone();
        fewer.base.consumers.remove(index);
        let index = index as u32;
        fewer.units = self
            .units
            .iter()
            .filter_map(|unit| {
                unit.renumbered(
                    &|target| match target {
                        Target::Consumer(consumer) if *consumer == index => None,
                        Target::Consumer(consumer) if *consumer > index => {
                            Some(Target::Consumer(consumer - 1))
                        }
                        other => Some(other.clone()),
                    },
                    &|condition| match condition {
                        Condition::MemberCommitted { consumer } if *consumer == index => None,
                        Condition::MemberCommitted { consumer } if *consumer > index => {
                            Some(Condition::MemberCommitted {
                                consumer: consumer - 1,
                            })
                        }
                        other => Some(other.clone()),
                    },
                )
            })
            .collect();
        Some(fewer)
    }

    /// Without the highest-numbered broker, when every topic (internal ones included)
    /// still has enough brokers for its replication factor: faults aimed at that broker are
    /// removed with their units, its overrides dropped.
    pub fn without_last_broker(&self) -> Option<Shrinkable> {
        let replication_factor_max = self
            .base
            .cluster_topics()
            .iter()
            .map(|topic| topic.replication_factor)
            .max()
            .unwrap_or(1)
            .max(1);
        if self.base.brokers <= replication_factor_max {
            return None;
        }
        let removed = BrokerId(self.base.brokers);
        let mut fewer = self.clone();
        fewer.base.brokers -= 1;
        fewer
            .base
            .broker_overrides
            .retain(|change| change.broker != removed);
        fewer.units = self
            .units
            .iter()
            .filter_map(|unit| {
                unit.renumbered(
                    &|target| match target {
                        Target::Broker(broker) if *broker == removed => None,
                        other => Some(other.clone()),
                    },
                    &|condition| Some(condition.clone()),
                )
            })
            .collect();
        Some(fewer)
    }

    /// How many units' faults applied in a run of [`Shrinkable::scenario`], from the run's
    /// list of what did not apply: a unit did not when its trigger never fired or its
    /// first fault is listed (a repair that found nothing to repair does not count).
    pub fn applied_faults(&self, not_applied: &[NotApplied]) -> usize {
        let default_topic = self.base.default_topic();
        let mut unapplied = vec![false; self.units.len()];
        for listed in not_applied {
            let matching = self
                .units
                .iter()
                .enumerate()
                .filter(|(index, unit)| {
                    !unapplied[*index] && unit.first_fault_is(listed, default_topic)
                })
                // A scheduled fault is listed when the nemesis reached it: the latest unit
                // due by then is the one.
                .max_by_key(|(index, unit)| {
                    (
                        unit.scheduled.first().map(|timed| timed.scripted.at_ms),
                        std::cmp::Reverse(*index),
                    )
                })
                .map(|(index, _)| index);
            if let Some(index) = matching {
                unapplied[index] = true;
            }
        }
        unapplied.iter().filter(|unapplied| !**unapplied).count()
    }

    /// When each unit's trigger first fired in a run of [`Shrinkable::scenario`], from the
    /// run's records (`None`: no trigger, or it never fired). The world fires every armed
    /// trigger an event matches, in the order they are written, each once, and records one
    /// `TriggerFired` per trigger: the first unfired trigger armed by then with the
    /// recorded condition is the one that fired.
    pub fn trigger_fire_times(&self, records: &[Record]) -> Vec<Option<u64>> {
        let default_topic = self.base.default_topic();
        let triggers: Vec<(usize, String, u64)> = self
            .units
            .iter()
            .enumerate()
            .filter_map(|(index, unit)| {
                let trigger = unit.trigger.as_ref()?;
                Some((
                    index,
                    describe_condition(&trigger.condition, default_topic),
                    trigger.after_ms,
                ))
            })
            .collect();
        let mut fired = vec![None; self.units.len()];
        for record in records {
            let Record::Nemesis {
                time_ms,
                action: NemesisAction::TriggerFired { condition, .. },
            } = record
            else {
                continue;
            };
            if let Some((index, _, _)) = triggers.iter().find(|(index, described, after_ms)| {
                fired[*index].is_none() && described == condition && after_ms <= time_ms
            }) {
                fired[*index] = Some(*time_ms);
            }
        }
        fired
    }
}

/// A scenario's own faults as units: each trigger one; each scheduled fault joins the unit
/// whose label it names (`struck = "label"`: the restart of what a labelled crash struck),
/// else starts its own.
fn own_units(scripted: &[ScriptedFault], triggers: &[Trigger]) -> Vec<FaultUnit> {
    let mut units: Vec<FaultUnit> = triggers
        .iter()
        .map(|trigger| FaultUnit {
            trigger: Some(trigger.clone()),
            scheduled: Vec::new(),
        })
        .collect();
    for (position, fault) in scripted.iter().enumerate() {
        let timed = Timed {
            scripted: fault.clone(),
            order: position as u64,
        };
        let owner = fault.fault.targets().into_iter().find_map(|target| {
            let Target::Struck(label) = target else {
                return None;
            };
            units
                .iter()
                .position(|unit| unit.labels().contains(&label.as_str()))
        });
        match owner {
            Some(owner) => units[owner].scheduled.push(timed),
            None => units.push(FaultUnit {
                trigger: None,
                scheduled: vec![timed],
            }),
        }
    }
    units
}

/// Whether a fault lasts until something undoes it (or the safety phase ends).
fn lasts(fault: &Fault) -> bool {
    !matches!(
        fault,
        Fault::Restart { .. }
            | Fault::Resume { .. }
            | Fault::HealAll
            | Fault::DeleteRecords { .. }
            | Fault::SlowProcessing { .. }
    )
}

impl FaultUnit {
    /// The labels the unit defines (for `struck` targets).
    fn labels(&self) -> Vec<&str> {
        self.trigger
            .iter()
            .filter_map(|trigger| trigger.label.as_deref())
            .chain(
                self.scheduled
                    .iter()
                    .filter_map(|timed| timed.scripted.label.as_deref()),
            )
            .collect()
    }

    /// The fault that starts the unit: its trigger's first, else its first scheduled one.
    pub fn first_fault(&self) -> Option<&Fault> {
        match &self.trigger {
            Some(trigger) => trigger
                .then
                .first()
                .or(trigger.later.first().map(|later| &later.fault)),
            None => self.scheduled.first().map(|timed| &timed.scripted.fault),
        }
    }

    /// How long the unit's fault lasts (see [`Size::fault_duration_ms`]).
    pub fn duration_ms(&self, safety_ms: u64) -> u64 {
        let Some(first) = self.first_fault() else {
            return 0;
        };
        if let Some(trigger) = &self.trigger {
            if let Some(end_ms) = trigger.later.iter().map(|later| later.at_ms).max() {
                return end_ms.saturating_sub(trigger.delay_ms);
            }
            return match first {
                Fault::SlowProcessing { duration_ms, .. } => *duration_ms,
                fault if lasts(fault) => safety_ms.saturating_sub(trigger.after_ms),
                _ => 0,
            };
        }
        let start_ms = self.scheduled[0].scripted.at_ms;
        let end_ms = match self.scheduled[1..]
            .iter()
            .map(|timed| timed.scripted.at_ms)
            .max()
        {
            Some(repair_ms) => repair_ms.min(safety_ms),
            None => match first {
                Fault::SlowProcessing { duration_ms, .. } => {
                    (start_ms + duration_ms).min(safety_ms)
                }
                fault if lasts(fault) => safety_ms,
                _ => start_ms,
            },
        };
        end_ms.saturating_sub(start_ms)
    }

    /// The unit lasting half as long, or `None` (see [`Shrinkable::halved`]).
    fn halved(&self, safety_ms: u64) -> Option<FaultUnit> {
        let mut shorter = self.clone();
        if let Some(trigger) = shorter.trigger.as_mut() {
            let delay_ms = trigger.delay_ms;
            let longest_ms = trigger
                .later
                .iter()
                .map(|later| later.at_ms.saturating_sub(delay_ms))
                .max();
            match longest_ms {
                Some(longest_ms) if longest_ms >= 2 => {
                    for later in &mut trigger.later {
                        later.at_ms = delay_ms + later.at_ms.saturating_sub(delay_ms) / 2;
                    }
                    return Some(shorter);
                }
                Some(_) => return None,
                None => return halve_slow_processing(trigger.then.first_mut()?).then_some(shorter),
            }
        }
        let start_ms = shorter.scheduled.first()?.scripted.at_ms;
        let (first, repairs) = shorter.scheduled.split_first_mut()?;
        if repairs.is_empty() {
            return halve_slow_processing(&mut first.scripted.fault).then_some(shorter);
        }
        let length_ms = |at_ms: u64| at_ms.min(safety_ms).saturating_sub(start_ms);
        if repairs
            .iter()
            .all(|repair| length_ms(repair.scripted.at_ms) < 2)
        {
            return None;
        }
        for repair in repairs {
            repair.scripted.at_ms = start_ms + length_ms(repair.scripted.at_ms) / 2;
        }
        Some(shorter)
    }

    /// Whether `listed` says this unit's first fault did not apply.
    fn first_fault_is(&self, listed: &NotApplied, default_topic: TopicName) -> bool {
        match &self.trigger {
            Some(trigger) => {
                listed.trigger.as_deref()
                    == Some(describe_condition(&trigger.condition, default_topic).as_str())
                    && match &listed.fault {
                        None => listed.reason == NotAppliedReason::TriggerNeverFired,
                        Some(fault) => Some(fault) == self.first_fault(),
                    }
            }
            None => {
                listed.trigger.is_none()
                    && listed.fault.as_ref() == self.first_fault()
                    && self
                        .scheduled
                        .first()
                        .is_some_and(|timed| timed.scripted.at_ms <= listed.time_ms)
            }
        }
    }

    /// The unit with every target and condition passed through `target` and `condition`;
    /// `None` when one of them names what is removed.
    fn renumbered(
        &self,
        target: &dyn Fn(&Target) -> Option<Target>,
        condition: &dyn Fn(&Condition) -> Option<Condition>,
    ) -> Option<FaultUnit> {
        let mut unit = self.clone();
        let mut faults: Vec<&mut Fault> = Vec::new();
        if let Some(trigger) = unit.trigger.as_mut() {
            trigger.condition = condition(&trigger.condition)?;
            faults.extend(trigger.then.iter_mut());
            faults.extend(trigger.later.iter_mut().map(|later| &mut later.fault));
        }
        faults.extend(
            unit.scheduled
                .iter_mut()
                .map(|timed| &mut timed.scripted.fault),
        );
        for fault in faults {
            for each in fault.targets_mut() {
                *each = target(each)?;
            }
        }
        Some(unit)
    }
}

/// Halves a slow-processing fault's duration; false for any other fault or a millisecond.
fn halve_slow_processing(fault: &mut Fault) -> bool {
    match fault {
        Fault::SlowProcessing { duration_ms, .. } if *duration_ms >= 2 => {
            *duration_ms /= 2;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
#[path = "shrink_tests.rs"]
mod tests;
