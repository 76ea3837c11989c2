"""Webhooks out: the outbox of events, the business's endpoints and their delivery."""
