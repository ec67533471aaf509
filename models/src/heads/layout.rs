//! [`TaskLayout`]: which HF task-model family an encoder config belongs to, which decides the
//! state-dict prefix of the encoder, the class names written to `config.json` and the shape of
//! the sequence-classification head.
//!
//! HF names task models per family: `BertForSequenceClassification` keeps its encoder under
//! `bert.` and classifies the pooler output with one linear layer, while
//! `RobertaForSequenceClassification` (and its XLM-R, CamemBERT and pre-LayerNorm siblings)
//! has no pooler and classifies the `<s>` state with a two-layer `classifier.dense` /
//! `classifier.out_proj` head. Token classification is one `classifier` linear layer in every
//! family. Getting the family right is what lets `transformers` load a fine-tuned directory.

use crate::bert::BertConfig;
use crate::ModelError;

/// The HF task-model family of an encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskLayout {
    /// HF `base_model_prefix`: the encoder's key prefix (`bert`, `roberta`,
    /// `roberta_prelayernorm`).
    pub prefix: &'static str,
    /// Class-name stem (`Bert`, `Roberta`, `XLMRoberta`, `Camembert`, `RobertaPreLayerNorm`).
    stem: &'static str,
    /// HF `model_type` written to the task `config.json`.
    pub model_type: &'static str,
    /// RoBERTa-style sequence head (`<s>` → dense → tanh → out_proj, no pooler) instead of
    /// BERT's pooler + one linear layer.
    pub roberta_head: bool,
}

impl TaskLayout {
    /// The layout for `config`'s `model_type`. Model types outside the BERT/RoBERTa families
    /// are read as BERT, as fine-tuning always did (their weights must then carry BERT's
    /// names). A pre-LN encoder must be `roberta-prelayernorm`: HF has no other pre-LN class,
    /// so anything else could not be loaded back in `transformers`.
    pub fn of(config: &BertConfig) -> Result<TaskLayout, ModelError> {
        let (prefix, stem, model_type, roberta_head) = match config.model_type.as_str() {
            "roberta" => ("roberta", "Roberta", "roberta", true),
            "xlm-roberta" => ("roberta", "XLMRoberta", "xlm-roberta", true),
            "camembert" => ("roberta", "Camembert", "camembert", true),
            "roberta-prelayernorm" => (
                "roberta_prelayernorm",
                "RobertaPreLayerNorm",
                "roberta-prelayernorm",
                true,
            ),
            _ => ("bert", "Bert", "bert", false),
        };
        if config.pre_layer_norm && model_type != "roberta-prelayernorm" {
            return Err(ModelError::InvalidConfig(format!(
                "a pre-LayerNorm encoder of model_type {:?} has no HF task class; \
                 only roberta-prelayernorm is pre-LN",
                config.model_type
            )));
        }
        Ok(TaskLayout {
            prefix,
            stem,
            model_type,
            roberta_head,
        })
    }

    /// `<Stem>ForSequenceClassification`.
    pub fn sequence_architecture(&self) -> String {
        format!("{}ForSequenceClassification", self.stem)
    }

    /// `<Stem>ForTokenClassification`.
    pub fn token_architecture(&self) -> String {
        format!("{}ForTokenClassification", self.stem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(model_type: &str, pre_ln: bool) -> BertConfig {
        let mut c: BertConfig = serde_json::from_str(
            r#"{"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
                "num_attention_heads":2,"intermediate_size":16}"#,
        )
        .expect("valid config");
        c.model_type = model_type.into();
        c.pre_layer_norm = pre_ln;
        c
    }

    #[test]
    fn families_map_to_hf_class_names_and_prefixes() -> Result<(), ModelError> {
        let bert = TaskLayout::of(&config("bert", false))?;
        assert_eq!(bert.prefix, "bert");
        assert!(!bert.roberta_head);
        assert_eq!(
            bert.sequence_architecture(),
            "BertForSequenceClassification"
        );
        let roberta = TaskLayout::of(&config("roberta", false))?;
        assert_eq!(roberta.prefix, "roberta");
        assert!(roberta.roberta_head);
        assert_eq!(
            roberta.token_architecture(),
            "RobertaForTokenClassification"
        );
        let pre = TaskLayout::of(&config("roberta-prelayernorm", true))?;
        assert_eq!(pre.prefix, "roberta_prelayernorm");
        assert_eq!(
            pre.sequence_architecture(),
            "RobertaPreLayerNormForSequenceClassification"
        );
        assert_eq!(
            TaskLayout::of(&config("xlm-roberta", false))?.sequence_architecture(),
            "XLMRobertaForSequenceClassification"
        );
        // Unknown types keep the old BERT reading.
        assert_eq!(TaskLayout::of(&config("mystery", false))?.prefix, "bert");
        Ok(())
    }

    #[test]
    fn pre_ln_outside_roberta_prelayernorm_is_rejected() {
        assert!(matches!(
            TaskLayout::of(&config("roberta", true)),
            Err(ModelError::InvalidConfig(_))
        ));
    }
}
