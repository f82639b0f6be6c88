"""Pydantic v2 models: X payloads, tickets and audit events, queue messages."""
