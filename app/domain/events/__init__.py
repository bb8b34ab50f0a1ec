"""Events: a transactional outbox, the event feed, and signed webhook deliveries."""
