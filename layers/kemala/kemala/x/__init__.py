"""X API v2: the outbound client (client.py) and reply text rules (reply_text.py)."""
