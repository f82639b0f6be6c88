"""The fake X API (kemala_cli.fake_x, from the replies work) as the local stack uses it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger("kemala.local")


@dataclass
class RunningFakeX:
    url: str
    server: Any

    def stop(self) -> None:
        self.server.stop()

    def add_account(self, user_id: str, credentials: dict[str, str], handle: str | None) -> None:
        """Seed an agency account, so the fake X verifies the replier's OAuth 1.0a signatures."""
        self.server.add_account(user_id, handle=handle, **credentials)


def start() -> RunningFakeX | None:
    try:
        from kemala_cli.fake_x import FakeX
    except ImportError as exc:
        log.warning("fake X API: kemala_cli.fake_x is not available (%s); replies will not be posted", exc)
        return None
    server = FakeX().start()
    log.info("fake X API on %s (validates POST /2/tweets against X's OpenAPI spec)", server.url)
    return RunningFakeX(server.url, server)


def posts(url: str) -> list[dict[str, Any]]:
    """What the fake X accepted, over HTTP (`GET /_fake/posts`), as a client or test would see it."""
    resp = requests.get(f"{url}/_fake/posts", timeout=10)
    resp.raise_for_status()
    return list(resp.json()["posts"])
