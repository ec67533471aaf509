//! Text family: the shared segmentation ([`segment`]), the aligned normaliser
//! ([`normalize`]) and the sentence splitter ([`split_sentences`]).

pub mod align;
pub mod normalize;
pub mod segment;
pub mod split_sentences;
