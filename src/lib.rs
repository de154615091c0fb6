#![deny(unsafe_code)]
#![deny(missing_docs)]
//! palisade
pub mod text;
