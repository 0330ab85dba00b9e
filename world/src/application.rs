//! The application running on a client node beside its actor: a producer's workload that
//! calls `send`, or a group consumer's poll loop that processes what it polls.

use crate::application_consumer::ConsumerApplication;
use crate::application_pipeline::PipelineApplication;
use crate::application_transactional::TransactionalApplication;
use watermark_broker_core::ids::GenerationId;
use watermark_broker_core::topic::TopicPartition;

/// A producer application: the workload that calls `send`.
#[derive(Clone, Debug)]
pub struct ProducerApplication {
    pub remaining: u64,
    pub next_send_ms: u64,
    pub interval_ms: u64,
    pub key_space: Option<u64>,
    /// A transactional producer's loop (`None`: plain sends).
    pub transactional: Option<TransactionalApplication>,
}

/// The application of a client node.
pub enum Application {
    /// Survives process restarts: the workload goes on sending what it has not sent.
    Producer(ProducerApplication),
    /// Lives as long as the consumer's process: a restart starts a fresh one.
    Consumer(Box<ConsumerApplication>),
    /// A consume-transform-produce loop: lives as long as its process, like a consumer's.
    Pipeline(Box<PipelineApplication>),
}

impl Application {
    pub fn producer(&self) -> Option<&ProducerApplication> {
        match self {
            Application::Producer(producer) => Some(producer),
            Application::Consumer(_) | Application::Pipeline(_) => None,
        }
    }

    pub fn producer_mut(&mut self) -> Option<&mut ProducerApplication> {
        match self {
            Application::Producer(producer) => Some(producer),
            Application::Consumer(_) | Application::Pipeline(_) => None,
        }
    }

    pub fn consumer(&self) -> Option<&ConsumerApplication> {
        match self {
            Application::Consumer(consumer) => Some(consumer),
            Application::Producer(_) | Application::Pipeline(_) => None,
        }
    }

    pub fn consumer_mut(&mut self) -> Option<&mut ConsumerApplication> {
        match self {
            Application::Consumer(consumer) => Some(consumer),
            Application::Producer(_) | Application::Pipeline(_) => None,
        }
    }

    /// A group member's generation and assignment as its callbacks told it: a group
    /// consumer's or a consume-transform-produce loop's.
    pub fn group_view_mut(&mut self) -> Option<(&mut GenerationId, &mut Vec<TopicPartition>)> {
        match self {
            Application::Consumer(consumer) => {
                Some((&mut consumer.generation, &mut consumer.assignment))
            }
            Application::Pipeline(pipeline) => {
                Some((&mut pipeline.generation, &mut pipeline.assignment))
            }
            Application::Producer(_) => None,
        }
    }

    /// Whether the application has nothing in progress (a group member's batch, a loop's
    /// transaction); a producer's workload is judged by its own counters.
    pub fn is_idle(&self) -> bool {
        match self {
            Application::Consumer(consumer) => consumer.is_idle(),
            Application::Pipeline(pipeline) => pipeline.is_idle(),
            Application::Producer(_) => true,
        }
    }

    /// When it next has work of its own.
    pub fn next_wake_ms(&self) -> Option<u64> {
        match self {
            Application::Producer(ProducerApplication {
                transactional: Some(transactional),
                remaining,
                ..
            }) => transactional.next_wake_ms(*remaining),
            Application::Producer(producer) => {
                (producer.remaining > 0).then_some(producer.next_send_ms)
            }
            Application::Consumer(consumer) => consumer.next_wake_ms(),
            Application::Pipeline(pipeline) => pipeline.next_wake_ms(),
        }
    }
}
