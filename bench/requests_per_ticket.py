"""Figure: AWS requests per ticket life (receive -> route -> notify -> reply -> post -> resolve).

Everything runs in this process on moto (`mock_aws`), with the REAL handlers built the way the local stack
builds them: template.yaml translated by samtranslator, its tables, queues and secrets created, each
function imported with the environment the template gives it (kemala_cli.local.functions), the agencies of
config/agencies.yaml onboarded and API tokens issued (kemala_cli.local.seed), HTTP requests routed
through the template's HTTP API with its Lambda authorizer (kemala_cli.local.http_api), and replies posted
to the fake X API (kemala_cli.fake_x). The bench plays Lambda's SQS event source itself: it receives up to
the template's BatchSize, invokes the handler and deletes the successes.

How requests are counted. `botocore.client.BaseClient._make_api_call` is wrapped: every botocore client
goes through it whoever created it (kemala.aws.client, Powertools' parameters provider, the bench), so no
client can be missed, and a request is charged to the (stage, function) running at that moment. Outside a
handler (the bench's own set-up, and its calls standing in for Lambda's event source and for the agency's
queue consumer) nothing is charged: those are AWS-side or agency-side calls, estimated separately below
from the template's batch sizes. The wrapper counts API calls as our code makes them; botocore's retries
(throttling, 5xx) would add HTTP attempts, of which moto makes none.

Next to the counts it derives what the bill is made of: DynamoDB WRU/RRU from the real item sizes
(pre- and post-images read back from moto; 1 KB per WRU, 4 KB per RRU, transactions 2x, GSI writes with
ALL projection, an index key change costing a delete and a put), SQS billable requests (64 KB chunks),
API Gateway requests, Lambda invocations and the bytes each function writes to CloudWatch Logs.

Containers are warm (a first ticket warms them: secrets, directory and registry caches); the extra
requests of that first call are printed on their own line. API calls run the authorizer every time (its
API Gateway cache, 300 s, is cleared per request), so its rows are an upper bound. See docs/cost.md.

Usage: python bench/requests_per_ticket.py      (BENCH_TICKETS=50 sets the batch size)
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REGION = "ap-southeast-3"
BATCH = int(os.environ.get("BENCH_TICKETS", "50"))
AGENCY = "kab-grobogan-dpupr"  # public works of Kabupaten Grobogan (Purwodadi), with an X account
AUTO_TEXT = "#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km {n}, sudah 3 bulan mohon diperbaiki"
TRIAGE_TEXT = "#KemalaJateng halo min, tolong dibantu ya, sudah lama nunggu (laporan {n})"
IGNORED_TEXT = "Selamat pagi Jawa Tengah, semoga cerah hari ini ({n})"  # no complaint hashtag
FOLLOWUP_TEXT = "Min, lubangnya muncul lagi setelah hujan semalam"
REPLY_TEXT = "Terima kasih laporannya. Tim DPUPR Grobogan akan memeriksa lokasi besok pagi. Ref {ref}"
LIFE = ("receive", "route", "triage", "notify", "reply", "post", "resolve", "view")
SHORT = {
    "WebhookFunction": "webhook",
    "RouterFunction": "router",
    "AuthorizerFunction": "authorizer",
    "ApiFunction": "api",
    "ReplierFunction": "replier",
}

os.environ.update(
    AWS_DEFAULT_REGION=REGION,
    AWS_REGION=REGION,
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
)
for _var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)


# --- counting ------------------------------------------------------------------------------------------


def item_size(item: dict[str, Any]) -> int:
    """A DynamoDB item's size by DynamoDB's rules (names + values; numbers ~1 byte per 2 digits)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "B":
        return len(v)
    if kind == "N":
        return (len(v.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(_value_size(x) + 1 for x in v)
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(_value_size({"N": x}) for x in v)
    return sum(len(x) for x in v)  # BS


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


@dataclass
class TableShape:
    keys: tuple[str, ...]
    indexes: list[tuple[str, ...]]


@dataclass
class Meter:
    """What each (stage, function) cost: requests by operation, capacity units, invocations, log bytes."""

    stage: str = ""
    where: tuple[str, str] | None = None  # (stage, function) while a handler runs; None: not charged
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    units: defaultdict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    invocations: Counter[tuple[str, str]] = field(default_factory=Counter)
    http: Counter[str] = field(default_factory=Counter)  # API Gateway requests per stage
    x_calls: Counter[str] = field(default_factory=Counter)
    log_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)
    notifications: Counter[str] = field(default_factory=Counter)  # messages consumers read, per stage
    message_bytes: list[int] = field(default_factory=list)
    shapes: dict[str, TableShape] = field(default_factory=dict)

    def reset(self) -> None:
        self.units.clear()
        counters: list[Counter[Any]] = [self.calls, self.invocations, self.http, self.x_calls]
        for counter in [*counters, self.log_bytes, self.notifications]:
            counter.clear()
        self.message_bytes.clear()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        saved, self.where = self.where, None
        try:
            yield
        finally:
            self.where = saved

    @contextlib.contextmanager
    def charging(self, function: str) -> Iterator[None]:
        saved, self.where = self.where, (self.stage, function)
        self.invocations[(self.stage, function)] += 1
        try:
            yield
        finally:
            self.where = saved


METER = Meter()


def install_counter() -> None:
    """Wrap the one method every botocore client's API call passes through."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
        where = METER.where
        if where is None:
            return original(client, operation, params)
        service = client.meta.service_model.service_name
        METER.calls[(*where, f"{service}.{operation}")] += 1
        before: dict[tuple[str, str], dict[str, Any] | None] = {}
        if service == "dynamodb":
            with METER.paused():
                before = _images(client, _written_keys(client, operation, params))
        response = original(client, operation, params)
        with METER.paused():
            if service == "dynamodb":
                _charge_dynamodb(client, where[0], operation, params, response, before)
            elif service == "sqs":
                _charge_sqs(where[0], operation, params)
        return response

    BaseClient._make_api_call = counted  # type: ignore[method-assign]


def _shape(client: Any, table: str) -> TableShape:
    if table not in METER.shapes:
        desc = client.describe_table(TableName=table)["Table"]
        keys = tuple(k["AttributeName"] for k in desc["KeySchema"])
        indexes = [
            tuple(k["AttributeName"] for k in gsi["KeySchema"])
            for gsi in desc.get("GlobalSecondaryIndexes", [])
        ]
        METER.shapes[table] = TableShape(keys, indexes)
    return METER.shapes[table]


def _written_keys(client: Any, operation: str, params: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(table, key as JSON, transactional) of every item a write touches."""
    out: list[tuple[str, str, bool]] = []

    def add(table: str, key: dict[str, Any], transactional: bool) -> None:
        out.append((table, json.dumps(key, sort_keys=True), transactional))

    def key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in _shape(client, table).keys}

    if operation == "PutItem":
        add(params["TableName"], key_of(params["TableName"], params["Item"]), False)
    elif operation in ("UpdateItem", "DeleteItem"):
        add(params["TableName"], params["Key"], False)
    elif operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            ((_, body),) = entry.items()
            key = body["Key"] if "Key" in body else key_of(body["TableName"], body["Item"])
            add(body["TableName"], key, True)
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    add(table, key_of(table, request["PutRequest"]["Item"]), False)
                else:
                    add(table, request["DeleteRequest"]["Key"], False)
    return out


def _images(client: Any, keys: list[tuple[str, str, bool]]) -> dict[tuple[str, str], dict[str, Any] | None]:
    images: dict[tuple[str, str], dict[str, Any] | None] = {}
    for table, key, _ in keys:
        resp = client.get_item(TableName=table, Key=json.loads(key), ConsistentRead=True)
        images[(table, key)] = resp.get("Item")
    return images


def _charge_dynamodb(
    client: Any,
    stage: str,
    operation: str,
    params: dict[str, Any],
    response: dict[str, Any],
    before: dict[tuple[str, str], dict[str, Any] | None],
) -> None:
    if operation in ("GetItem", "Query", "BatchGetItem", "Scan"):
        METER.units[(stage, "RRU")] += _read_units(operation, params, response)
        return
    keys = _written_keys(client, operation, params)
    after = _images(client, keys)
    for table, key, transactional in keys:
        old, new = before.get((table, key)), after.get((table, key))
        size = max(item_size(old) if old else 0, item_size(new) if new else 0)
        METER.units[(stage, "WRU")] += _units(size, 1024) * (2 if transactional else 1)
        index_units = _index_writes(_shape(client, table), old, new)
        METER.units[(stage, "WRU")] += index_units
        METER.units[(stage, "WRU in indexes")] += index_units


def _index_writes(shape: TableShape, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    """GSI writes (projection ALL: the whole item): a changed index key is a delete plus a put."""
    units = 0
    for index in shape.indexes:
        old_key = [old[k] for k in index] if old and all(k in old for k in index) else None
        new_key = [new[k] for k in index] if new and all(k in new for k in index) else None
        if old_key is not None and old_key != new_key:
            units += _units(item_size(old or {}), 1024)
        if new_key is not None and (old_key != new_key or old != new):
            units += _units(item_size(new or {}), 1024)
    return units


def _read_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> float:
    if operation == "GetItem":
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        return _units(item_size(response.get("Item") or {}), 4096) * factor
    if operation in ("Query", "Scan"):
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        total = sum(item_size(i) for i in response.get("Items", []))
        return _units(total, 4096) * factor
    units = 0.0
    for table, request in params["RequestItems"].items():
        factor = 1.0 if request.get("ConsistentRead") else 0.5
        found = response.get("Responses", {}).get(table, [])
        units += sum(_units(item_size(i), 4096) for i in found) * factor
        units += max(0, len(request["Keys"]) - len(found)) * factor
    return units


def _charge_sqs(stage: str, operation: str, params: dict[str, Any]) -> None:
    """SQS bills each request per 64 KB chunk of its payload."""
    if operation == "SendMessageBatch":
        sizes = [_message_size(e) for e in params["Entries"]]
    elif operation == "SendMessage":
        sizes = [_message_size(params)]
    else:
        METER.units[(stage, "SQS billable")] += 1
        return
    METER.message_bytes.extend(sizes)
    METER.units[(stage, "SQS billable")] += _units(sum(sizes), 64 * 1024)


def _message_size(entry: dict[str, Any]) -> int:
    attrs = entry.get("MessageAttributes") or {}
    size = len(entry["MessageBody"].encode())
    for name, attr in attrs.items():
        size += len(name.encode()) + len(attr["DataType"]) + len(str(attr.get("StringValue", "")).encode())
    return size


class LogSink(io.TextIOBase):
    """sys.stdout while handlers run: counts what each function writes (its CloudWatch Logs ingestion)."""

    def write(self, text: str) -> int:
        if METER.where is not None:
            METER.log_bytes[METER.where] += len(text.encode())
        return len(text)


# --- the stack -------------------------------------------------------------------------------------------


@dataclass
class Bench:
    """The template's stack on moto with the real functions, the fake X and the seeded directory."""

    functions: dict[str, Any]
    http: Any
    mappings: dict[str, Any]
    sqs: Any
    ddb: Any
    tickets_table: str
    idempotency_table: str
    consumer_secret: str
    tokens: dict[str, Any]
    fake: Any
    agency_queue: str
    operators_queue: str
    _tweet: int = 1_860_000_000_000_000_000

    @classmethod
    def build(cls, fake: Any) -> Bench:
        import boto3
        from kemala_cli import moto_atomic
        from kemala_cli.local import moto_speed
        from kemala_cli.local.functions import build_environments, load_functions, shared_environment
        from kemala_cli.local.http_api import HttpApi, read_routes
        from kemala_cli.local.intrinsics import Resolver
        from kemala_cli.local.resources import create_resources, name_resources
        from kemala_cli.local.seed import seed
        from kemala_cli.local.sqs_driver import read_mappings
        from kemala_cli.local.template import translate

        moto_speed.install()
        moto_atomic.install()
        clients: dict[str, Any] = {}

        def client(service: str) -> Any:
            return clients.setdefault(service, boto3.client(service, region_name=REGION))

        translated = translate(REGION, {"XApiBaseUrl": fake.url})
        resolver = Resolver(translated.parameters, translated.conditions)
        created = create_resources(translated, resolver, name_resources(translated, resolver, REGION), client)
        seeded = seed(created.tables["DirectoryTable"], client)
        for agency_id, credentials in seeded.x_credentials.items():
            record = seeded.agencies[agency_id]
            fake.add_account(str(record["x_user_id"]), handle=record.get("x_handle"), **credentials)
        envs = build_environments(translated, resolver, {"X_API_BASE_URL": fake.url})
        os.environ.update(shared_environment(envs))
        functions = load_functions(translated, resolver, envs, None, None)
        for logical, fn in functions.items():
            fn.invoke = _metered(fn.invoke, logical)
        names = {fn.name: logical for logical, fn in functions.items()}
        by_arn = {created.queue_arns[k]: url for k, url in created.queues.items()}
        mappings = {
            m.function: m
            for m in read_mappings(
                translated.of_type("AWS::Lambda::EventSourceMapping"), resolver.resolve, names, by_arn
            )
        }
        return cls(
            functions=functions,
            http=HttpApi(read_routes(translated, resolver, names), functions, REGION),
            mappings=mappings,
            sqs=client("sqs"),
            ddb=client("dynamodb"),
            tickets_table=created.tables["TicketsTable"],
            idempotency_table=created.tables["IdempotencyTable"],
            consumer_secret=created.secret_values[str(translated.parameters["XConsumerSecretName"])],
            tokens=seeded.tokens,
            fake=fake,
            agency_queue=str(seeded.agencies[AGENCY]["queue_url"]),
            operators_queue=created.queues["OperatorsQueue"],
        )

    # --- requests through the HTTP API ---------------------------------------------------------------

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        from kemala_cli.local.http_api import Request

        self.http._cache.clear()  # the authorizer runs for every request: an upper bound (see docstring)
        METER.http[METER.stage] += 1
        headers = {"content-type": "application/json", "host": "bench", **headers}
        reply = self.http.handle(Request(method, path, "", headers, body, "198.51.100.7"))
        return reply.status, json.loads(reply.body or b"null")

    def api(self, method: str, path: str, token: str, body: Any = None) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        status, answer = self.request(method, path, raw, {"authorization": f"Bearer {token}"})
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer

    def deliver(self, text: str, in_reply_to: str | None = None) -> str:
        """A signed X delivery of one tweet (as X sends them) to POST /webhooks/x; returns the tweet id."""
        from kemala.webhook_auth import signature_for
        from kemala_cli.local.demo_stream import MENTION, tweet_payload

        self._tweet += 4_194_304
        tweet_id = str(self._tweet)
        base = json.loads(MENTION.read_text(encoding="utf-8"))
        payload = tweet_payload(base, tweet_id, "1512345678", "warga_pwd1234", text, in_reply_to)
        raw = json.dumps(payload, ensure_ascii=False).encode()
        signature = signature_for(self.consumer_secret, raw)
        status, answer = self.request("POST", "/webhooks/x", raw, {"x-twitter-webhooks-signature": signature})
        if status != 200:
            raise RuntimeError(f"webhook answered {status}: {answer}")
        return tweet_id

    # --- Lambda's SQS event source, played by the bench (its calls are not ours: not charged) ----------

    def drive(self, function: str) -> int:
        """Deliver everything on the function's queue in batches of its BatchSize; returns invocations."""
        from kemala_cli.local.sqs_driver import lambda_record

        mapping = self.mappings[function]
        invocations = 0
        while True:
            messages = self._receive(mapping.queue_url, mapping.batch_size)
            if not messages:
                return invocations
            event = {"Records": [lambda_record(m, mapping, REGION) for m in messages]}
            result = self.functions[function].invoke(event)
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            if failed:
                raise RuntimeError(f"{function}: batch item failures {failed}")
            self._delete(mapping.queue_url, messages)
            invocations += 1

    def consume(self, queue_url: str) -> list[dict[str, Any]]:
        """What the agency's (or operators') consumer does: read and delete its notifications."""
        bodies: list[dict[str, Any]] = []
        while messages := self._receive(queue_url, 10):
            bodies.extend(json.loads(m["Body"]) for m in messages)
            METER.notifications[METER.stage] += len(messages)
            self._delete(queue_url, messages)
        return bodies

    def _receive(self, queue_url: str, batch_size: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < batch_size:
            resp = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            if not resp.get("Messages"):
                break
            messages.extend(resp["Messages"])
        return messages

    def _delete(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)

    # --- reading the outcome (not charged) -------------------------------------------------------------

    def ticket_of(self, tweet_id: str) -> Any:
        from kemala.store.tickets import TicketStore

        store = TicketStore(self.tickets_table)
        link = store.tweet_link(tweet_id)
        if link is None:
            raise RuntimeError(f"tweet {tweet_id} made no ticket")
        return store.require(link.ticket_id)

    def item_sizes(self, ticket: Any) -> dict[str, int]:
        """Bytes of each kind of item one resolved ticket left behind (averages where there are several)."""
        sizes: dict[str, list[int]] = defaultdict(list)
        items = self.ddb.query(
            TableName=self.tickets_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket.id}"}},
        )["Items"]
        for item in items:
            sizes[item["sk"]["S"].split("#")[0].lower()].append(item_size(item))
        for tweet_id in [ticket.tweet_id, *ticket.reply_tweet_ids]:
            key = {"pk": {"S": f"TWEET#{tweet_id}"}, "sk": {"S": "TWEET"}}
            link = self.ddb.get_item(TableName=self.tickets_table, Key=key)["Item"]
            sizes[f"tweet_link_{link['role']['S']}"].append(item_size(link))
        claims = self.ddb.scan(TableName=self.idempotency_table)["Items"]
        sizes["reply_claim"] = [item_size(i) for i in claims]
        out = {kind: round(sum(v) / len(v)) for kind, v in sizes.items() if v}
        out["events_per_ticket"] = len(sizes["event"])
        return out


def _metered(invoke: Callable[[Any], Any], function: str) -> Callable[[Any], Any]:
    def run(event: Any) -> Any:
        with METER.charging(function):
            return invoke(event)

    return run


@contextlib.contextmanager
def stage(bench: Bench, name: str) -> Iterator[None]:
    METER.stage = name
    before = bench.fake.requests
    try:
        yield
    finally:
        METER.x_calls[name] += bench.fake.requests - before
        METER.stage = ""


# --- one life, for one ticket or a batch ---------------------------------------------------------------


def life(bench: Bench, texts: list[str], expect: str) -> list[Any]:
    """Each tweet through its whole life; `expect` is the router's decision (ASSIGNED or TRIAGE)."""
    with stage(bench, "receive"):
        tweets = [bench.deliver(text) for text in texts]
    with stage(bench, "route"):
        bench.drive("RouterFunction")
    tickets = [bench.ticket_of(t) for t in tweets]
    wrong = [t.id for t in tickets if t.status.value != expect]
    if wrong:
        raise RuntimeError(f"expected {expect} after routing, not for {wrong}")
    if expect == "TRIAGE":
        with stage(bench, "triage"):
            bench.consume(bench.operators_queue)
            for t in tickets:
                body = {"agency_id": AGENCY, "category": "public_works"}
                bench.api("POST", f"/tickets/{t.id}/delegate", bench.tokens["operator"], body)
    with stage(bench, "notify"):
        notified = bench.consume(bench.agency_queue)
    if sorted(m["ticket"]["id"] for m in notified) != sorted(t.id for t in tickets):
        raise RuntimeError("the agency was not notified of exactly these tickets")
    token = bench.tokens["agencies"][AGENCY]
    with stage(bench, "reply"):
        for t in tickets:
            bench.api("POST", f"/tickets/{t.id}/replies", token, {"text": REPLY_TEXT.format(ref=t.ref)})
    with stage(bench, "post"):
        bench.drive("ReplierFunction")
    with stage(bench, "resolve"):
        for t in tickets:
            bench.api("POST", f"/tickets/{t.id}/resolve", token, {"note": "sudah diperbaiki"})
    done = [bench.ticket_of(t) for t in tweets]
    unfinished = [t.id for t in done if t.status.value != "RESOLVED" or not t.reply_tweet_ids]
    if unfinished:
        raise RuntimeError(f"tickets not replied and resolved: {unfinished}")
    return done


# --- figures and report --------------------------------------------------------------------------------


def _per_function(counter: Counter[tuple[str, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (_, function), value in counter.items():
        out[SHORT.get(function, function)] += value
    return out


@dataclass
class Figures:
    """What METER holds for one run, per ticket."""

    tickets: int
    rows: list[tuple[str, str, str, float]]  # stage, function, service.operation, per ticket
    by_op: dict[str, float]
    per_stage: dict[str, dict[str, float]]
    totals: dict[str, float]
    invocations: dict[str, float]  # per ticket, by function
    log_bytes_per_invocation: dict[str, int]
    message_bytes: int
    item_bytes: dict[str, int] = field(default_factory=dict)
    tweet_id: str = ""  # the (first) ticket's tweet

    @classmethod
    def take(cls, tickets: int) -> Figures:
        n = float(tickets)
        order = {s: i for i, s in enumerate(LIFE)}
        rows = sorted(
            ((s, SHORT.get(f, f), op, c / n) for (s, f, op), c in METER.calls.items()),
            key=lambda r: (order.get(r[0], 99), r[1], r[2]),
        )
        by_op: Counter[str] = Counter()
        for (_, _, op), count in METER.calls.items():
            by_op[op] += count
        stages = {k[0] for k in METER.calls} | set(METER.http) | set(METER.notifications)
        per_stage = {
            s: {
                "aws_requests": sum(c for (st, _, _), c in METER.calls.items() if st == s) / n,
                "wru": METER.units[(s, "WRU")] / n,
                "rru": METER.units[(s, "RRU")] / n,
                "lambda_invocations": sum(c for (st, _), c in METER.invocations.items() if st == s) / n,
                "apigw_requests": METER.http[s] / n,
                "x_calls": METER.x_calls[s] / n,
                "notifications_read": METER.notifications[s] / n,
            }
            for s in sorted(stages, key=lambda s: order.get(s, 99))
        }
        units: defaultdict[str, float] = defaultdict(float)
        for (_, kind), value in METER.units.items():
            units[kind] += value
        totals = {
            "aws_requests": sum(METER.calls.values()) / n,
            "dynamodb_wru": units["WRU"] / n,
            "dynamodb_wru_in_indexes": units["WRU in indexes"] / n,
            "dynamodb_rru": units["RRU"] / n,
            "sqs_billable_requests": units["SQS billable"] / n,
            "lambda_invocations": sum(METER.invocations.values()) / n,
            "apigw_requests": sum(METER.http.values()) / n,
            "x_api_calls": sum(METER.x_calls.values()) / n,
            "log_bytes": sum(METER.log_bytes.values()) / n,
        }
        invocations, log_bytes = _per_function(METER.invocations), _per_function(METER.log_bytes)
        sent = METER.message_bytes
        return cls(
            tickets=tickets,
            rows=rows,
            by_op={k: v / n for k, v in sorted(by_op.items())},
            per_stage=per_stage,
            totals=totals,
            invocations={k: v / n for k, v in sorted(invocations.items())},
            log_bytes_per_invocation={k: round(log_bytes[k] / v) for k, v in sorted(invocations.items())},
            message_bytes=round(sum(sent) / len(sent)) if sent else 0,
        )

    def by_service(self) -> dict[str, float]:
        out: defaultdict[str, float] = defaultdict(float)
        for op, count in self.by_op.items():
            out[op.split(".")[0]] += count
        return dict(sorted(out.items()))

    def json(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            **{k: round(v, 3) for k, v in self.totals.items()},
            "by_service": {k: round(v, 3) for k, v in self.by_service().items()},
            "by_stage": {s: round(v["aws_requests"], 3) for s, v in self.per_stage.items()},
            "wru_by_stage": {s: round(v["wru"], 3) for s, v in self.per_stage.items()},
            "invocations_by_function": {k: round(v, 3) for k, v in self.invocations.items()},
        }


def measure(bench: Bench, texts: list[str], expect: str) -> Figures:
    METER.reset()
    done = life(bench, texts, expect)
    figures = Figures.take(len(texts))
    figures.item_bytes = bench.item_sizes(done[0])
    figures.tweet_id = done[0].tweet_id
    return figures


def measure_ignored(bench: Bench) -> Figures:
    """A tweet without the hashtag: what a delivery that makes no ticket costs."""
    METER.reset()
    with stage(bench, "receive"):
        bench.deliver(IGNORED_TEXT.format(n=1))
    return Figures.take(1)


def measure_followup(bench: Bench, ticket: Any) -> Figures:
    """The citizen replies to their (resolved) complaint: it is linked, reopens it and reaches the agency."""
    METER.reset()
    with stage(bench, "receive"):
        bench.deliver(FOLLOWUP_TEXT, in_reply_to=ticket.tweet_id)
    with stage(bench, "route"):
        bench.drive("RouterFunction")
    with stage(bench, "notify"):
        if [m["type"] for m in bench.consume(bench.agency_queue)] != ["ticket.followup"]:
            raise RuntimeError("the follow-up did not reach the agency")
    return Figures.take(1)


def measure_view(bench: Bench, ticket: Any) -> Figures:
    """An agency reads: its inbox (GET /tickets) and one ticket (GET /tickets/{id}); per request."""
    METER.reset()
    token = bench.tokens["agencies"][AGENCY]
    with stage(bench, "view"):
        bench.api("GET", "/tickets", token)
        bench.api("GET", f"/tickets/{ticket.id}", token)
    return Figures.take(2)


def fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0")


def print_table(out: Any, title: str, figures: Figures, unit: str = "ticket") -> None:
    out.write(f"\n{title}\n  {'stage':<8} {'function':<11} {'service.operation':<36} {'per ' + unit:>11}\n")
    for s, f, op, count in figures.rows:
        out.write(f"  {s:<8} {f:<11} {op:<36} {fmt(count):>11}\n")
    for s, v in figures.per_stage.items():
        read = f", {fmt(v['notifications_read'])} notification read" if v["notifications_read"] else ""
        out.write(
            f"  {s:<8} = {fmt(v['aws_requests'])} AWS requests ({fmt(v['wru'])} WRU, {fmt(v['rru'])} RRU), "
            f"{fmt(v['lambda_invocations'])} invocations, {fmt(v['apigw_requests'])} API Gateway, "
            f"{fmt(v['x_calls'])} X API{read}\n"
        )
    t = figures.totals
    services = ", ".join(f"{k} {fmt(v)}" for k, v in figures.by_service().items())
    out.write(
        f"  TOTAL per {unit}: {fmt(t['aws_requests'])} AWS requests ({services}); "
        f"DynamoDB {fmt(t['dynamodb_wru'])} WRU ({fmt(t['dynamodb_wru_in_indexes'])} of them GSI writes) + "
        f"{fmt(t['dynamodb_rru'])} RRU; "
        f"SQS {fmt(t['sqs_billable_requests'])} billable; {fmt(t['lambda_invocations'])} invocations; "
        f"{fmt(t['apigw_requests'])} API Gateway; {fmt(t['x_api_calls'])} X API; "
        f"{fmt(t['log_bytes'])} log bytes\n"
    )


def event_source_estimate(bench: Bench, batch: Figures) -> dict[str, Any]:
    """Requests made by Lambda's SQS pollers and by the agency's consumer, not by our code: ESTIMATES.

    Per invocation the poller makes one ReceiveMessage and one DeleteMessageBatch (successes); idle, each
    of its 5 long-polling connections makes one 20 s ReceiveMessage, i.e. 3 a minute."""
    sizes = {fn: bench.mappings[f"{fn.title()}Function"].batch_size for fn in ("router", "replier")}
    return {
        "batch_sizes": sizes,
        "full_batches": {fn: round(2 / size, 3) for fn, size in sizes.items()},
        "this_run": {fn: round(2 * batch.invocations.get(fn, 0), 3) for fn in sizes},
        "one_message_per_batch": {fn: 2.0 for fn in sizes},
        "agency_consumer_per_notification": 2.0,
        "idle_receives_per_queue_month": 5 * 3 * 60 * 24 * 30,
    }


def report(out: Any, runs: dict[str, Figures], estimate: dict[str, Any]) -> None:
    single, triage, batch, first, ignored = (
        runs[k] for k in ("single", "triage", "batch", "first", "ignored")
    )
    out.write(
        "AWS requests per ticket life: botocore hook, moto, the real handlers, warm containers\n"
        f"(routed to {AGENCY}; every API call runs the authorizer, so its rows are an upper bound)\n"
    )
    print_table(out, "1 ticket, auto-routed: receive -> route -> notify -> reply -> post -> resolve", single)
    print_table(out, "1 ticket through triage (an operator delegates it)", triage)
    print_table(out, f"{batch.tickets} tickets, auto-routed (per-ticket averages)", batch)
    followup, view = runs["followup"], runs["view"]
    print_table(out, "a citizen's follow-up to a resolved ticket (it reopens)", followup, "follow-up")
    print_table(out, "an agency reads: GET /tickets, then GET /tickets/{id}", view, "request")
    extra = first.totals["aws_requests"] - single.totals["aws_requests"]
    first_ops = {op: c - single.by_op.get(op, 0) for op, c in first.by_op.items()}
    out.write(
        f"\nfirst call, fresh containers: +{fmt(extra)} requests "
        f"{ {op: fmt(c) for op, c in first_ops.items() if c} } (secrets, XACCOUNTS, agency registry; "
        "then cached 60-300 s)\n"
        f"ignored tweet (no hashtag): {fmt(ignored.totals['aws_requests'])} AWS requests, 1 API Gateway "
        f"request, 1 webhook invocation, {fmt(ignored.totals['log_bytes'])} log bytes\n"
        f"Lambda invocations per ticket ({batch.tickets}-ticket batch): {batch.invocations}\n"
        f"log bytes per invocation (our stdout; Lambda's own platform lines not included): "
        f"{single.log_bytes_per_invocation}\naverage SQS message: {batch.message_bytes} B; "
        f"DynamoDB item bytes of one resolved ticket: {single.item_bytes}\n"
    )
    sizes, full, this = estimate["batch_sizes"], estimate["full_batches"], estimate["this_run"]
    out.write(
        "\nESTIMATES, not our code and not measured: Lambda's SQS pollers (ReceiveMessage + "
        f"DeleteMessageBatch per batch; BatchSize router {sizes['router']}, replier {sizes['replier']}) "
        f"make per ticket {full['router']} + {full['replier']} requests at full batches "
        f"({this['router']} + {this['replier']} in this run), up to 2 + 2 when messages come one by one; "
        "an agency's consumer ~2 per notification (receive + delete); idle long polling "
        f"~{estimate['idle_receives_per_queue_month']:,} ReceiveMessage per queue per month.\n"
    )
    figure = {
        "figure": "requests_per_ticket",
        **{name: runs[name].json() for name in ("single", "triage", "batch", "followup", "view")},
        "ignored_tweet": {k: round(v, 3) for k, v in ignored.totals.items()},
        "first_call_extra_requests": round(extra, 3),
        "log_bytes_per_invocation": single.log_bytes_per_invocation,
        "sqs_message_bytes_avg": batch.message_bytes,
        "item_bytes": single.item_bytes,
        "estimated_event_source_requests_per_ticket": estimate,
    }
    out.write(json.dumps(figure) + "\n")


def main() -> int:
    started = time.monotonic()
    real_stdout = sys.stdout
    warnings.filterwarnings("ignore")  # e.g. Powertools' "No application metrics to publish"
    for name in ("kemala.local", "moto", "botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from kemala_cli.fake_x import FakeX
    from moto import mock_aws

    install_counter()
    sys.stdout = LogSink()  # before the functions are imported: their loggers write here
    runs: dict[str, Figures] = {}
    try:
        with mock_aws(), FakeX().start() as fake:
            from kemala import aws

            aws.client.cache_clear()
            bench = Bench.build(fake)
            runs["first"] = measure(bench, [AUTO_TEXT.format(n=0)], "ASSIGNED")  # fresh containers
            runs["single"] = measure(bench, [AUTO_TEXT.format(n=1)], "ASSIGNED")
            runs["triage"] = measure(bench, [TRIAGE_TEXT.format(n=2)], "TRIAGE")
            runs["ignored"] = measure_ignored(bench)
            single_ticket = bench.ticket_of(runs["single"].tweet_id)
            runs["view"] = measure_view(bench, single_ticket)
            runs["followup"] = measure_followup(bench, single_ticket)
            runs["batch"] = measure(bench, [AUTO_TEXT.format(n=100 + i) for i in range(BATCH)], "ASSIGNED")
            estimate = event_source_estimate(bench, runs["batch"])
    finally:
        sys.stdout = real_stdout
    report(real_stdout, runs, estimate)
    print(
        f"(measured in {time.monotonic() - started:.1f} s; DESIGN.md: reported, with batching where allowed)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
