//! Mail: the transactional outbox and its delivery worker.
