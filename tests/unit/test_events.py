"""The sample events in events/ are current, and the webhook accepts them as X would send them."""

import importlib.util
import json
from types import ModuleType

from kemala.models.x_payloads import parse_delivery
from kemala.webhook_auth import signature_is_valid

from tests.conftest import PROJECT_ROOT


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("events_generate", PROJECT_ROOT / "events" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_events_match_the_generator() -> None:
    for name, event in _generator().build().items():
        committed = json.loads((PROJECT_ROOT / "events" / name).read_text(encoding="utf-8"))
        assert committed == event, f"events/{name} is stale: run .venv/bin/python events/generate.py"


def test_post_events_are_signed_and_parse() -> None:
    generate = _generator()
    events = generate.build()
    posts = [e for e in events.values() if e["requestContext"]["http"]["method"] == "POST"]
    assert len(posts) == 4
    for event in posts:
        raw = event["body"].encode()
        signature = event["headers"]["x-twitter-webhooks-signature"]
        assert signature_is_valid(generate.SAMPLE_SECRET, raw, signature)
        parse_delivery(json.loads(raw))
    truncated = parse_delivery(json.loads(events["webhook_complaint_truncated.json"]["body"])).posts[0]
    assert truncated.hashtags == ("KemalaJateng",) and truncated.text.startswith("Air PDAM")
