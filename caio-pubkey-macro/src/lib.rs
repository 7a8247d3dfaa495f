//! Placeholder: `embed_keyring!` is being written.
