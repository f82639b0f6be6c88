"""The operators', agencies' and auditors' HTTP API: access control, queries, actions, stats."""
