//! The double-entry journal: the posting API every money movement goes through.
