//! `passthrough`: forwards every record unchanged. Useful to measure engine overhead
//! (the I/O benchmark chains three of them) and as a named join point in a DAG.
//!
//! ```toml
//! [stages.copy]
//! type = "passthrough"
//! inputs = ["raw"]
//! ```

use mavuno_pipeline::schemars::JsonSchema;
use mavuno_pipeline::{
    Batch, BuildContext, Emitter, Stage, StageConfig, StageError, StageImpl, StageKind,
};
use serde::{Deserialize, Serialize};

/// Forwards every record unchanged.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "mavuno_pipeline::schemars")]
pub struct PassthroughConfig {}

impl StageConfig for PassthroughConfig {
    const TYPE: &'static str = "passthrough";
    const KIND: StageKind = StageKind::Streaming;

    fn build(&self, _ctx: &BuildContext) -> Result<StageImpl, StageError> {
        Ok(StageImpl::Stage(Box::new(Passthrough)))
    }
}

/// The runtime stage.
pub struct Passthrough;

impl Stage for Passthrough {
    fn process(&mut self, batch: Batch, out: &mut Emitter) -> Result<(), StageError> {
        for r in batch {
            out.keep(r);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavuno_pipeline::Record;

    #[test]
    fn keeps_everything_in_order() {
        let mut s = Passthrough;
        let mut out = Emitter::collecting(2);
        s.process(vec![Record::new("a", "1"), Record::new("b", "2")], &mut out)
            .unwrap();
        let got: Vec<String> = out.take_collected().into_iter().map(|r| r.id).collect();
        assert_eq!(got, ["a", "b"]);
    }
}
