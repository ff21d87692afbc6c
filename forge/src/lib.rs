//! forge: hoist's reference app.
