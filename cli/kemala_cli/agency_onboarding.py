"""Onboarding agencies: check a registry file completely, then make DirectoryTable and SQS match it.

`validate` reports every problem with its place (entry index, agency id, field) before anything is
written. `apply` is idempotent: it compares what exists with what the file asks for and writes only the
difference, reporting each agency as created, updated (naming the fields) or unchanged.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from kemala.routing.registry import Registry, RegistryConflict
from kemala.routing.types import PROVINCE, Agency, AgencyLevel
from kemala.store.agencies import AgencyStore
from kemala.store.dynamo import error_code
from pydantic import ValidationError

from kemala_cli.cfn import PROJECT_ROOT

CODES_PATH = Path(__file__).with_name("data") / "registry_codes.yaml"
GAZETTEER_PATH = PROJECT_ROOT / "config" / "gazetteer.yaml"
QUEUE_PREFIX = "kemala-agency-"
DLQ_MAX_RECEIVE_COUNT = 5
RETENTION_SECONDS = 1_209_600  # 14 days: an agency's consumer may be down over a long weekend
_DERIVED_FIELDS = {"queue_owned_by_agency"}  # set by apply from queue_url, never by the file
_AWS_QUEUE_URL = re.compile(
    r"^https://(?:sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|(?P<legacy>[a-z0-9-]+)\.queue\.amazonaws\.com)"
    r"/(?P<account>\d{12})/(?P<name>[A-Za-z0-9_-]{1,80})$"
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file, with where it is."""

    where: str  # "agencies[3] (kota-semarang-dpu)"
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


@dataclass(frozen=True)
class Codes:
    """The category codes and region ids a registry may use."""

    categories: frozenset[str]
    regions: frozenset[str]
    regions_source: str

    @classmethod
    def load(cls, gazetteer: Path = GAZETTEER_PATH) -> Codes:
        """Regions come from the gazetteer when it exists (routing's own source), else the built-in list."""
        import yaml

        builtin = yaml.safe_load(CODES_PATH.read_text(encoding="utf-8"))
        regions, source = frozenset(builtin["regions"]), str(CODES_PATH.relative_to(PROJECT_ROOT))
        if gazetteer.exists():
            gaz = yaml.safe_load(gazetteer.read_text(encoding="utf-8")) or {}
            if isinstance(gaz.get("regions"), dict) and gaz["regions"]:
                regions, source = frozenset(gaz["regions"]), str(gazetteer.relative_to(PROJECT_ROOT))
        return cls(frozenset(builtin["categories"]), regions, source)


def queue_url_problem(url: str, endpoint: str | None) -> str | None:
    """Why `url` is not a usable SQS standard-queue URL, or None."""
    if url.endswith(".fifo"):
        return "FIFO queues are not supported (messages carry no group id); give a standard queue"
    if _AWS_QUEUE_URL.match(url):
        return None
    if endpoint and re.match(re.escape(endpoint.rstrip("/")) + r"/\d{12}/[A-Za-z0-9_-]{1,80}$", url):
        return None  # the local stack's (moto) queue URLs
    return "not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account id>/<queue name>)"


def queue_arn(url: str) -> str | None:
    """The ARN of an AWS queue URL (for the router's AgencyOwnedQueueArns parameter)."""
    match = _AWS_QUEUE_URL.match(url)
    if not match:
        return None
    region = match["region"] or match["legacy"]
    partition = "aws-cn" if ".amazonaws.com.cn/" in url else "aws"
    return f"arn:{partition}:sqs:{region}:{match['account']}:{match['name']}"


def validate(entries: list[dict[str, Any]], codes: Codes) -> tuple[list[Agency], list[Problem]]:
    """Every agency of the file, or every problem found in it (never stops at the first)."""
    agencies: list[Agency] = []
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    contacts: dict[tuple[str, str], str] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    for index, raw in enumerate(entries):
        where = f"agencies[{index}] ({raw.get('id', '?')})"

        def problem(field_: str, message: str, where: str = where) -> None:
            problems.append(Problem(where, field_, message))

        for key in sorted(set(raw) - set(Agency.model_fields)):
            problem(key, "unknown field")
        for key in sorted(set(raw) & _DERIVED_FIELDS):
            problem(key, "set by apply (give queue_url for an agency-owned queue)")
        try:
            agency = Agency.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                problem(".".join(str(p) for p in err["loc"]) or "?", err["msg"])
            continue
        if agency.id in first_index:
            problem("id", f"duplicate of agencies[{first_index[agency.id]}]")
        first_index.setdefault(agency.id, index)
        for position, category in enumerate(agency.categories):
            if category not in codes.categories:
                problem(f"categories[{position}]", f"unknown category code {category!r}")
        if agency.region != PROVINCE and agency.region not in codes.regions:
            problem("region", f"unknown region id {agency.region!r} (see {codes.regions_source})")
        if agency.level is AgencyLevel.PROVINCE and agency.region != PROVINCE:
            problem("level", f"a province agency must have region {PROVINCE!r}")
        if agency.level is AgencyLevel.REGENCY and agency.region == PROVINCE:
            problem("level", "a regency agency needs a kab-/kota- region")
        if agency.queue_url and (reason := queue_url_problem(agency.queue_url, endpoint)):
            problem("queue_url", reason)
        if agency.x_secret_name and not agency.x_user_id:
            problem("x_user_id", "required with x_secret_name (the webhook must know the account)")
        if agency.active:
            for category in agency.categories:
                other = contacts.setdefault((agency.region, category), agency.id)
                if other != agency.id:
                    problem("categories", f"{other} already answers for {category!r} in {agency.region!r}")
        agencies.append(agency)
    return agencies, problems


# --- applying -------------------------------------------------------------------------------------


@dataclass
class AgencyChange:
    agency_id: str
    action: str  # created | updated | unchanged
    fields: list[str] = field(default_factory=list)
    note: str = ""

    def __str__(self) -> str:
        what = f"{self.action} ({', '.join(self.fields)})" if self.fields else self.action
        return f"{self.agency_id}: {what}{f'; {self.note}' if self.note else ''}"


@dataclass
class ApplyReport:
    agencies: list[AgencyChange] = field(default_factory=list)
    directory: list[str] = field(default_factory=list)  # index / XACCOUNTS changes
    not_in_file: list[str] = field(default_factory=list)
    owned_queue_arns: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.agencies if c.action == action)

    @property
    def changed(self) -> bool:
        return bool(self.directory) or any(c.action != "unchanged" for c in self.agencies)

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(a)} {a}" for a in ("created", "updated", "unchanged"))
        tail = "" if self.changed else "; nothing changed"
        return f"{len(self.agencies)} agencies: {counts}{tail}"


class ApplyRefused(Exception):
    """The file is valid alone but not together with what the directory already holds."""


class AgencyQueues:
    """Kemala-managed agency queues `kemala-agency-<id>`, each SSE-encrypted with its own DLQ."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs

    def ensure(self, agency_id: str) -> tuple[str, list[str]]:
        """The queue's URL, and what had to be done ('queue created', 'queue attributes ...')."""
        name = f"{QUEUE_PREFIX}{agency_id}"
        base = {"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": str(RETENTION_SECONDS)}
        dlq_url, dlq_done = self._ensure_one(f"{name}-dlq", base, agency_id)
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        redrive = {
            "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
            "maxReceiveCount": DLQ_MAX_RECEIVE_COUNT,
        }
        url, done = self._ensure_one(name, {**base, "RedrivePolicy": json.dumps(redrive)}, agency_id)
        return url, [f"dead-letter {d}" for d in dlq_done] + done

    def _ensure_one(self, name: str, wanted: dict[str, str], agency_id: str) -> tuple[str, list[str]]:
        try:
            url = str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except ClientError as exc:
            if "NonExistentQueue" not in error_code(exc) and error_code(exc) != "QueueDoesNotExist":
                raise
            created = self.sqs.create_queue(
                QueueName=name, Attributes=wanted, tags={"kemala:agency": agency_id}
            )
            return str(created["QueueUrl"]), ["queue created"]
        have = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        differ = {k: v for k, v in wanted.items() if not _same_attribute(k, have.get(k), v)}
        if not differ:
            return url, []
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes=differ)
        return url, [f"queue {', '.join(sorted(differ))}"]


def _same_attribute(name: str, have: str | None, want: str) -> bool:
    if have is None:
        return False
    if name == "RedrivePolicy":
        a, b = json.loads(have), json.loads(want)
        return bool(
            a.get("deadLetterTargetArn") == b["deadLetterTargetArn"]
            and int(a.get("maxReceiveCount", 0)) == b["maxReceiveCount"]
        )
    return have.lower() == want.lower()


def apply(
    agencies: list[Agency], store: AgencyStore, queues: AgencyQueues, at: Callable[[], str]
) -> ApplyReport:
    """Create or update each agency's record and queue; then the agency index and XACCOUNTS."""
    report = ApplyReport()
    existing = {a.id: a for a in store.list_all()}
    try:  # agencies kept in the directory but not in the file still route: they must not clash
        Registry.from_agencies({**existing, **{a.id: a for a in agencies}}.values())
    except RegistryConflict as exc:
        raise ApplyRefused(
            f"{exc}; one of them is in the directory but not in the file: add it to the file with "
            "`active: false` to retire it"
        ) from None
    final = dict(existing)
    for agency in agencies:
        if agency.queue_url:
            desired = agency.model_copy(update={"queue_owned_by_agency": True})
            queue_work: list[str] = []
            if arn := queue_arn(agency.queue_url):
                report.owned_queue_arns.append(arn)
        else:
            url, queue_work = queues.ensure(agency.id)
            desired = agency.model_copy(update={"queue_url": url, "queue_owned_by_agency": False})
        final[agency.id] = desired
        stored = existing.get(agency.id) or store.get(agency.id)
        if stored is None:
            store.put(desired, at())
            report.agencies.append(AgencyChange(agency.id, "created"))
            continue
        have, want = stored.model_dump(mode="json"), desired.model_dump(mode="json")
        changed = [name for name in want if have.get(name) != want[name]]
        if changed:
            store.put(desired, at())
        fields = changed + queue_work
        report.agencies.append(AgencyChange(agency.id, "updated" if fields else "unchanged", fields))

    known = set(existing) | store.agency_ids()
    in_file = {a.id for a in agencies}
    if not in_file <= known:
        store.set_agency_ids(known | in_file)
        report.directory.append(f"agency index: {len(in_file - known)} added")
    report.not_in_file = sorted(known - in_file)
    accounts = {a.x_user_id for a in final.values() if a.x_user_id}
    before = store.own_account_ids()
    if accounts != before:
        store.set_own_account_ids(accounts)
        report.directory.append(
            f"XACCOUNTS: {len(accounts - before)} added, {len(before - accounts)} removed "
            f"({len(accounts)} agency X accounts)"
        )
    return report
