//! Temporary stub with the agreed API; replaced by the controller work.
use crate::actor::{Actor, Effect, Input};
use crate::config::{ControllerConfig, TopicConfig};
use crate::ids::BrokerId;
use crate::metadata::MetadataImage;
use crate::storage::Storage;

pub struct Controller {
    image: MetadataImage,
}
impl Controller {
    pub fn new(
        _config: ControllerConfig,
        _topic: TopicConfig,
        _brokers: Vec<BrokerId>,
        _storage: Box<dyn Storage>,
    ) -> Controller {
        Controller {
            image: MetadataImage::default(),
        }
    }
    pub fn metadata(&self) -> &MetadataImage {
        &self.image
    }
}
impl Actor for Controller {
    fn handle(&mut self, _now_ms: u64, _input: Input) -> Vec<Effect> {
        Vec::new()
    }
    fn next_deadline_ms(&self) -> Option<u64> {
        None
    }
}
