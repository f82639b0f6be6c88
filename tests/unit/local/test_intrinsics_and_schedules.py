"""The local stack's intrinsic resolver and schedule expressions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kemala_cli.local.intrinsics import Resolver, Unresolvable
from kemala_cli.local.schedules import BadSchedule, Cron, Schedule


def resolver() -> Resolver:
    r = Resolver(
        {"AWS::Region": "ap-southeast-3", "Env": "local"},
        {"IsLocal": {"Fn::Equals": [{"Ref": "Env"}, "local"]}},
    )
    r.set("Queue", "http://moto/123/q", Arn="arn:aws:sqs:ap-southeast-3:123:q", QueueName="q")
    return r


def test_refs_getatts_and_subs_resolve_to_local_names() -> None:
    r = resolver()
    assert r.resolve({"Ref": "Queue"}) == "http://moto/123/q"
    assert r.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:ap-southeast-3:123:q"
    assert (
        r.resolve({"Fn::Sub": "${Queue.QueueName}-${AWS::Region}-${!Literal}"})
        == "q-ap-southeast-3-${Literal}"
    )
    assert r.resolve({"Fn::Sub": ["${X}/${Env}", {"X": {"Ref": "Queue"}}]}) == "http://moto/123/q/local"
    assert r.resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}]]}) == "a-local"
    assert r.resolve({"Fn::If": ["IsLocal", "yes", "no"]}) == "yes"
    assert r.resolve([{"Ref": "AWS::NoValue"}, 1]) == [1]
    assert r.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}) == "b"


def test_unknown_references_are_errors_naming_them() -> None:
    with pytest.raises(Unresolvable, match="Missing"):
        resolver().resolve({"Ref": "Missing"})
    with pytest.raises(Unresolvable, match=r"Queue\.Nope"):
        resolver().resolve({"Fn::GetAtt": ["Queue", "Nope"]})


def test_rate_expressions_give_their_interval() -> None:
    assert Schedule("S", "F", "rate(5 minutes)", None, "arn").interval() == 300
    assert Schedule("S", "F", "rate(1 day)", None, "arn").interval() == 86400
    assert Schedule("S", "F", "cron(0 18 * * ? *)", None, "arn").interval() is None


def test_cron_matches_aws_fields_including_sunday_as_one() -> None:
    daily = Cron.parse("0 18 * * ? *")
    assert daily.matches(datetime(2026, 12, 4, 18, 0, tzinfo=UTC))
    assert not daily.matches(datetime(2026, 12, 4, 18, 1, tzinfo=UTC))
    weekdays = Cron.parse("*/15 1-3 ? * MON-FRI *")
    assert weekdays.matches(datetime(2026, 12, 4, 2, 30, tzinfo=UTC))  # a Friday
    assert not weekdays.matches(datetime(2026, 12, 6, 2, 30, tzinfo=UTC))  # a Sunday
    assert Cron.parse("0 0 ? * 1 *").matches(datetime(2026, 12, 6, 0, 0, tzinfo=UTC))  # 1 = Sunday


def test_unsupported_cron_is_refused_at_start() -> None:
    with pytest.raises(BadSchedule, match=r"L, W or \#"):
        Cron.parse("0 0 L * ? *")
    with pytest.raises(BadSchedule):
        Schedule("S", "F", "every day", None, "arn").cron()
