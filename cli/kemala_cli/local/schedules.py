"""Scheduled functions (SAM `Schedule` → AWS::Events::Rule, `ScheduleV2` → AWS::Scheduler::Schedule).

`rate(N unit)` and `cron(min hour day-of-month month day-of-week year)` (numbers, `*`, `?`, lists, ranges,
steps, MON-SUN/JAN-DEC names; no `L`, `W` or `#`) run on a virtual clock that goes `speed` times faster
than real time, so a demo sees a daily job within seconds. The functions' own clocks are not changed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kemala_cli.local.functions import FunctionError, LocalFunction
from kemala_cli.local.intrinsics import Resolver
from kemala_cli.local.template import ACCOUNT_ID

log = logging.getLogger("kemala.local")

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}


class BadSchedule(ValueError):
    pass


def _field(spec: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The values a cron field allows; None for `*`/`?` (any)."""
    if spec in ("*", "?"):
        return None
    values: set[int] = set()
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(names.get(a.upper(), a)), int(names.get(b.upper(), b))
        else:
            start = int(names.get(part.upper(), part))
            end = high if "/" in spec else start
        if not (low <= start <= high and low <= end <= high):
            raise BadSchedule(f"cron field {spec!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


@dataclass(frozen=True)
class Cron:
    minutes: set[int] | None
    hours: set[int] | None
    days: set[int] | None
    months: set[int] | None
    weekdays: set[int] | None  # 1 = Sunday, as in AWS cron

    @classmethod
    def parse(cls, body: str) -> Cron:
        parts = body.split()
        if len(parts) != 6 or re.search(r"[LW#]", " ".join(parts[2:5])):
            raise BadSchedule(f"cron({body}): only 6-field cron without L, W or # is supported locally")
        return cls(
            _field(parts[0], 0, 59, {}),
            _field(parts[1], 0, 23, {}),
            _field(parts[2], 1, 31, {}),
            _field(parts[3], 1, 12, _MONTHS),
            _field(parts[4], 1, 7, _DAYS),
        )

    def matches(self, at: datetime) -> bool:
        weekday = at.isoweekday() % 7 + 1  # Sunday = 1
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.minutes, at.minute),
                (self.hours, at.hour),
                (self.days, at.day),
                (self.months, at.month),
                (self.weekdays, weekday),
            )
        )


@dataclass(frozen=True)
class Schedule:
    logical_id: str
    function: str  # logical id
    expression: str
    payload: Any  # the event, or None for EventBridge's scheduled-event shape
    rule_arn: str

    def interval(self) -> float | None:
        m = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", self.expression.strip())
        if m is None:
            return None
        if m.group(2) not in _UNITS:
            raise BadSchedule(f"{self.expression}: unknown unit")
        return int(m.group(1)) * _UNITS[m.group(2)]

    def cron(self) -> Cron:
        m = re.fullmatch(r"cron\((.+)\)", self.expression.strip())
        if m is None:
            raise BadSchedule(f"{self.logical_id}: {self.expression!r} is neither rate(...) nor cron(...)")
        return Cron.parse(m.group(1))


def read_schedules(
    translated: dict[str, dict[str, Any]], resolver: Resolver, function_arns: dict[str, str]
) -> list[Schedule]:
    """Schedules from Events rules and Scheduler schedules whose target is a local function."""
    out = []
    for logical_id, resource in translated.items():
        props = resolver.resolve(resource.get("Properties") or {})
        if "ScheduleExpression" not in props or props.get("State", "ENABLED") == "DISABLED":
            continue
        targets = props.get("Targets") or ([props["Target"]] if "Target" in props else [])
        for target in targets:
            function = function_arns.get(str(target.get("Arn")))
            if function is None:
                log.warning(
                    "%s: target %s is not a local function; not scheduled", logical_id, target.get("Arn")
                )
                continue
            payload = json.loads(target["Input"]) if "Input" in target else None
            if resource["Type"] == "AWS::Scheduler::Schedule" and payload is None:
                payload = {}
            arn = str(resolver.get_att(logical_id, "Arn"))
            out.append(Schedule(logical_id, function, str(props["ScheduleExpression"]), payload, arn))
    return out


class Scheduler(threading.Thread):
    """Fires every schedule on a virtual clock running `speed` times real time."""

    def __init__(
        self,
        schedules: list[Schedule],
        functions: dict[str, LocalFunction],
        region: str,
        speed: float,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="scheduler", daemon=True)
        self.schedules = schedules
        self.functions = functions
        self.region = region
        self.speed = max(speed, 0.001)
        self.stop_event = stop
        self.fired: dict[str, int] = {s.logical_id: 0 for s in schedules}
        for s in schedules:  # fail at start-up on an unsupported expression, not at the first tick
            if s.interval() is None:
                s.cron()

    def _fire(self, schedule: Schedule, at: datetime) -> None:
        event = schedule.payload
        if event is None:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region,
                "resources": [schedule.rule_arn],
                "detail": {},
            }
        self.fired[schedule.logical_id] += 1
        try:
            self.functions[schedule.function].invoke(event)
        except FunctionError as exc:
            log.warning("%s: scheduled run failed: %s", schedule.logical_id, exc)

    def run(self) -> None:
        start_real = time.monotonic()
        start_virtual = datetime.now(UTC)
        next_rate = {s.logical_id: s.interval() for s in self.schedules if s.interval() is not None}
        crons = {s.logical_id: s.cron() for s in self.schedules if s.interval() is None}
        last_minute = start_virtual.replace(second=0, microsecond=0)
        while not self.stop_event.wait(0.2):
            elapsed = (time.monotonic() - start_real) * self.speed
            now = start_virtual + timedelta(seconds=elapsed)
            for s in self.schedules:
                interval = s.interval()
                if interval is not None:
                    due = next_rate[s.logical_id]
                    if due is not None and elapsed >= due:
                        next_rate[s.logical_id] = due + interval
                        self._fire(s, now)
            minute = now.replace(second=0, microsecond=0)
            while last_minute < minute:
                last_minute += timedelta(minutes=1)
                for s in self.schedules:
                    if s.logical_id in crons and crons[s.logical_id].matches(last_minute):
                        self._fire(s, last_minute)
