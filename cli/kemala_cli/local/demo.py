"""`kemala local up --demo`: a realistic stream through the signed webhook, then agencies at work.

It is a client of the running stack: deliveries go to the webhook URL over HTTP, signed with the local
consumer secret exactly as X signs them; agencies act through the HTTP API with their tokens; the fake X
reports what was posted to it. Only the summary reads the tables directly (through moto), to count.

Expectations (`--once` exits non-zero naming the first that failed; each needs its component, and is
reported as skipped when that component is not in the template yet):
  - every accepted complaint tweet became exactly one ticket, and no other ticket exists;
  - redelivered duplicates created nothing; the forged delivery got 401 and created nothing;
  - the follow-up attached to its ticket; the deletion withdrew its ticket and purged its text;
  - every ticket left RECEIVED: routed to an agency or in triage            (router)
  - an agency cannot act on another agency's ticket                         (API)
  - every requested reply reached the fake X exactly once; those tickets
    became RESPONDED, then RESOLVED                                         (API, replier, fake X)
  - every dead-letter queue is empty.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests

from kemala_cli.local import demo_stream
from kemala_cli.local.demo_stream import DemoTweet

FORGED_SECRET = "not-the-consumer-secret"
OPEN_STATUSES = ("ASSIGNED", "RESPONDED")


@dataclass
class Expectation:
    name: str
    ok: bool | None  # None: skipped (component missing)
    detail: str = ""


@dataclass
class Tally:
    deliveries: int = 0
    tweets: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    followups: int = 0
    withdrawn: int = 0
    replies_requested: int = 0
    replies_posted: int = 0
    resolved: int = 0
    delegated: int = 0
    closed: int = 0
    auto_routed: int = 0
    to_triage: int = 0


class Progress:
    """A one-line progress bar on a terminal; a few plain lines otherwise."""

    def __init__(self, out: TextIO, label: str, total: int) -> None:
        self.out, self.label, self.total = out, label, max(total, 1)
        self.tty = out.isatty()
        self._last_step = -1
        self._lock = threading.Lock()
        self.update(0)

    def update(self, done: int) -> None:
        with self._lock:
            fraction = min(done / self.total, 1.0)
            if self.tty:
                bar = "█" * int(fraction * 30) + "░" * (30 - int(fraction * 30))
                self.out.write(f"\r  {self.label:<22} [{bar}] {done}/{self.total}")
                self.out.flush()
            else:
                step = int(fraction * 4)
                if step != self._last_step:
                    self._last_step = step
                    self.out.write(f"  {self.label:<22} {done}/{self.total}\n")
                    self.out.flush()

    def finish(self, done: int, note: str = "") -> None:
        self.update(done)
        if self.tty:
            self.out.write(f"  {note}\n" if note else "\n")
        elif note:
            self.out.write(f"  {self.label:<22} {note}\n")
        self.out.flush()


class Demo:
    def __init__(
        self, info: dict[str, Any], out: TextIO = sys.stdout, tweets: int = 300, seed: int = 7
    ) -> None:
        self.info = info
        self.out = out
        self.count = tweets
        self.rng = random.Random(seed)
        self.seed = seed
        self.tally = Tally()
        self.expectations: list[Expectation] = []
        self.phases: dict[str, float] = {}  # phase -> seconds since the demo started, when it ended
        self._local = threading.local()
        import boto3

        endpoint = info["aws_endpoint_url"]
        self.ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=info["region"])
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=info["region"])

    # --- plumbing -------------------------------------------------------------------------------------

    @property
    def http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def has_consumer(self, queue_logical_id: str) -> bool:
        return queue_logical_id in self.info.get("consumers", {})

    def has_route(self, route_key: str) -> bool:
        return route_key in self.info.get("routes", [])

    def deliver(self, body: bytes, secret: str | None = None) -> tuple[int, dict[str, Any]]:
        from kemala.webhook_auth import signature_for

        signature = signature_for(secret or self.info["x_consumer_secret"], body)
        resp = self.http.post(
            self.info["webhook_url"],
            data=body,
            headers={
                "content-type": "application/json; charset=utf-8",
                "x-twitter-webhooks-signature": signature,
            },
            timeout=30,
        )
        try:
            payload = resp.json()
        except ValueError:
            payload = {"raw": resp.text[:200]}
        return resp.status_code, payload

    def api(self, method: str, path: str, token: str, body: Any = None) -> requests.Response:
        return self.http.request(
            method,
            self.info["api_url"] + path,
            json=body,
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )

    def tickets(self) -> list[dict[str, Any]]:
        from kemala.store.dynamo import deserialize

        pages = self.ddb.get_paginator("scan").paginate(
            TableName=self.info["tables"]["TicketsTable"],
            FilterExpression="sk = :t",
            ExpressionAttributeValues={":t": {"S": "TICKET"}},
        )
        return [deserialize(item) for page in pages for item in page.get("Items", [])]

    def count_status(self, status: str) -> int:
        """Tickets in `status`, from the StatusBoard index (a count: cheap enough to poll)."""
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.info["tables"]["TicketsTable"],
            IndexName="StatusBoard",
            KeyConditionExpression="gsi2pk = :s",
            ExpressionAttributeValues={":s": {"S": f"STATUS#{status}"}},
            Select="COUNT",
        )
        return sum(int(page["Count"]) for page in pages)

    def wait_for(self, label: str, total: int, done: Callable[[], int], timeout: float) -> int:
        progress = Progress(self.out, label, total)
        deadline = time.monotonic() + timeout
        value = done()
        while value < total and time.monotonic() < deadline:
            time.sleep(0.5)
            value = done()
            progress.update(value)
        progress.finish(value, "" if value >= total else f"timed out after {timeout:.0f}s")
        return value

    def expect(self, name: str, ok: bool | None, detail: str = "") -> None:
        self.expectations.append(Expectation(name, ok, detail))

    # --- the story ------------------------------------------------------------------------------------

    def run(self) -> bool:
        started = time.monotonic()
        stream = demo_stream.build_stream(self.count, self.seed)
        self.out.write(
            f"\nDemo: {len(stream)} complaint tweets through the signed webhook, as X delivers them\n"
        )
        accepted = self.deliver_stream(stream)
        self.phases["deliveries"] = time.monotonic() - started
        by_tweet = self.check_tickets(stream, accepted)
        self.followup_and_deletion(stream, by_tweet)
        routed = self.operator_triage(self.wait_routing(by_tweet))
        self.phases["all routed"] = time.monotonic() - started
        self.agencies_reply(routed)
        self.phases["replies and resolutions"] = time.monotonic() - started
        self.check_dlqs()
        self.elapsed = time.monotonic() - started
        self.summary()
        return all(e.ok is not False for e in self.expectations)

    def deliver_stream(self, stream: list[DemoTweet]) -> set[str]:
        """Every tweet once, ~5% redelivered (X retries), one forged delivery; 4 concurrent senders."""
        deliveries: list[tuple[str, bytes, str | None]] = [(t.tweet_id, t.body, None) for t in stream]
        for tweet in self.rng.sample(stream, max(1, len(stream) // 20)):
            position = self.rng.randrange(stream.index(tweet) + 1, len(deliveries) + 1)
            deliveries.insert(position, ("dup:" + tweet.tweet_id, tweet.body, None))
        forged = demo_stream.build_stream(1, seed=self.seed + 1000)[0]
        deliveries.insert(len(deliveries) // 2, ("forged:" + forged.tweet_id, forged.body, FORGED_SECRET))
        self.forged = forged
        progress = Progress(self.out, "webhook deliveries", len(deliveries))
        accepted: set[str] = set()
        lock = threading.Lock()
        done = 0

        def send(item: tuple[str, bytes, str | None]) -> None:
            nonlocal done
            key, body, secret = item
            status, payload = self.deliver(body, secret)
            with lock:
                done += 1
                self.tally.deliveries += 1
                if status == 200:
                    self.tally.created += int(payload.get("created", 0))
                    self.tally.duplicates += int(payload.get("duplicates", 0))
                    if payload.get("created") == 1:
                        # a redelivery racing its original may be the one that creates: either counts
                        accepted.add(key.split(":")[-1])
                elif status == 401:
                    self.tally.rejected += 1
                else:
                    self.tally.errors.append(f"{key}: HTTP {status} {payload}")
                if key.startswith("forged:"):
                    self.forged_status = status
                progress.update(done)

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(send, deliveries))
        progress.finish(done)
        self.tally.tweets = len(stream)
        dups = sum(1 for k, _, _ in deliveries if k.startswith("dup:"))
        self.expect(
            "every delivery answered 200 (or 401 for the forged one)",
            not self.tally.errors,
            "; ".join(self.tally.errors[:3]),
        )
        self.expect(
            "redelivered duplicates created nothing",
            self.tally.duplicates == dups and self.tally.created == len(accepted),
            f"{dups} redelivered, {self.tally.duplicates} reported duplicate, "
            f"{self.tally.created} created for {len(accepted)} tweets",
        )
        self.expect("the forged delivery was rejected with 401", getattr(self, "forged_status", None) == 401)
        return accepted

    def check_tickets(self, stream: list[DemoTweet], accepted: set[str]) -> dict[str, dict[str, Any]]:
        tickets = self.tickets()
        counts = Counter(t["tweet_id"] for t in tickets)
        by_tweet = {t["tweet_id"]: t for t in tickets}
        sent = {t.tweet_id for t in stream}
        missing = [tid for tid in accepted if counts[tid] != 1]
        strays = [tid for tid in counts if tid not in sent]
        self.expect(
            "every accepted tweet became exactly one ticket",
            len(accepted) == len(stream) and not missing and not strays,
            f"{len(accepted)}/{len(stream)} accepted, {len(missing)} without exactly one ticket, "
            f"{len(strays)} strays",
        )
        self.expect("the forged delivery created no ticket", self.forged.tweet_id not in counts)
        return by_tweet

    def followup_and_deletion(self, stream: list[DemoTweet], by_tweet: dict[str, dict[str, Any]]) -> None:
        """A citizen follows up on one complaint; another citizen deletes theirs."""
        chosen, deleted = stream[1], stream[2]
        reply = demo_stream.followup(chosen, 1)
        status, payload = self.deliver(reply.body)
        self.tally.followups = int(payload.get("followups", 0))
        self.expect(
            "the citizen's follow-up attached to their ticket",
            status == 200 and self.tally.followups == 1,
            str(payload),
        )
        for_user = str(chosen.payload["for_user_id"])
        status, payload = self.deliver(json.dumps(demo_stream.delete_payload(deleted, for_user)).encode())
        self.tally.withdrawn = int(payload.get("withdrawn", 0))
        ticket_id = by_tweet.get(deleted.tweet_id, {}).get("id")
        after = next((t for t in self.tickets() if t["id"] == ticket_id), {})
        self.expect(
            "the deleted tweet withdrew its ticket and purged its text",
            status == 200 and after.get("status") == "WITHDRAWN" and not after.get("text"),
            f"status {after.get('status')}",
        )
        self.deleted_ticket = ticket_id

    def wait_routing(self, by_tweet: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.has_consumer("RoutingQueue"):
            self.out.write("  routing                skipped: no function consumes RoutingQueue yet\n")
            self.expect("every ticket routed or in triage", None, "no router in template.yaml")
            return []
        total = len(by_tweet)

        def routed() -> int:
            return total - self.count_status("RECEIVED")

        self.wait_for("routing", total, routed, timeout=90)
        tickets = self.tickets()
        stuck = [t["id"] for t in tickets if t["status"] == "RECEIVED"]
        self.expect("every ticket routed or in triage", not stuck, f"{len(stuck)} still RECEIVED")
        self.tally.auto_routed = sum(1 for t in tickets if t["status"] == "ASSIGNED" and t.get("agency_id"))
        self.tally.to_triage = sum(1 for t in tickets if t["status"] == "TRIAGE")
        return tickets

    def operator_triage(self, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The triage team delegates what the router was unsure of to its best suggestion, or closes it
        as not actionable when nothing was suggested (e.g. a complaint naming no service)."""
        triage = [t for t in tickets if t["status"] == "TRIAGE"]
        if not triage or not self.has_route("POST /tickets/{id}/delegate"):
            return tickets
        token = self.info["tokens"]["operator"]
        ok = 0
        for t in triage:
            agency = next((s["agency_id"] for s in t.get("suggestions") or [] if s.get("agency_id")), None)
            if agency:
                resp = self.api("POST", f"/tickets/{t['id']}/delegate", token, {"agency_id": agency})
                self.tally.delegated += int(resp.status_code < 300)
            else:
                resp = self.api("POST", f"/tickets/{t['id']}/close", token, {"reason": "not_actionable"})
                self.tally.closed += int(resp.status_code < 300)
            ok += int(resp.status_code < 300)
            if resp.status_code >= 300:
                self.tally.errors.append(f"triage {t['id']}: HTTP {resp.status_code} {resp.text[:200]}")
        self.expect("the operator cleared the triage queue", ok == len(triage), f"{ok}/{len(triage)}")
        return self.tickets()

    def agencies_reply(self, tickets: list[dict[str, Any]]) -> None:
        route = "POST /tickets/{id}/replies"
        if not tickets or not self.has_route(route):
            self.expect("agencies' replies reached X exactly once", None, f"needs the router and {route}")
            return
        agency_tokens: dict[str, str] = self.info["tokens"].get("agencies", {})
        with_x = {a for a, rec in self.info.get("agencies", {}).items() if rec.get("x_secret_name")}
        candidates = [t for t in tickets if t["status"] == "ASSIGNED" and t.get("agency_id") in agency_tokens]
        preferred = [t for t in candidates if t["agency_id"] in with_x] or candidates
        picked: list[dict[str, Any]] = []
        per_agency: Counter[str] = Counter()
        for t in sorted(preferred, key=lambda t: t["id"]):
            if per_agency[t["agency_id"]] < 2 and len(picked) < 12:  # two replies per agency account
                picked.append(t)
                per_agency[t["agency_id"]] += 1
        if not picked:
            self.expect("agencies' replies reached X exactly once", None, "no ticket was auto-assigned")
            return
        self.check_isolation(picked, agency_tokens)
        requested = []
        for t in picked:
            text = f"Terima kasih laporannya ({t['ref']}). Tim kami sudah menjadwalkan pengecekan ke lokasi."
            resp = self.api(
                "POST", f"/tickets/{t['id']}/replies", agency_tokens[t["agency_id"]], {"text": text}
            )
            if resp.status_code < 300:
                requested.append(t)
            else:
                self.tally.errors.append(f"reply {t['id']}: HTTP {resp.status_code} {resp.text[:200]}")
        self.tally.replies_requested = len(requested)
        self.expect(
            "the API accepted every reply", len(requested) == len(picked), "; ".join(self.tally.errors[-3:])
        )
        if not self.has_consumer("OutboundQueue") or not self.info.get("fake_x_url"):
            self.expect("agencies' replies reached X exactly once", None, "needs the replier and the fake X")
            return

        def responded() -> int:  # only the tickets replied to can be RESPONDED here
            return self.count_status("RESPONDED")

        self.wait_for("replies posted to X", len(requested), responded, timeout=60)
        posts = self.fake_x_posts()
        per_tweet = Counter(p.get("in_reply_to_tweet_id") for p in posts)
        wanted = {t["tweet_id"] for t in requested}
        self.tally.replies_posted = sum(per_tweet[w] for w in wanted)
        self.expect(
            "every requested reply reached the fake X exactly once",
            all(per_tweet[w] == 1 for w in wanted),
            f"{self.tally.replies_posted} posts for {len(wanted)} replies",
        )
        for t in requested:
            resp = self.api(
                "POST",
                f"/tickets/{t['id']}/resolve",
                agency_tokens[t["agency_id"]],
                {"note": "Sudah diperbaiki."},
            )
            self.tally.resolved += int(resp.status_code < 300)
        self.expect(
            "agencies resolved their answered tickets",
            self.tally.resolved == len(requested),
            f"{self.tally.resolved}/{len(requested)}",
        )

    def check_isolation(self, picked: list[dict[str, Any]], tokens: dict[str, str]) -> None:
        """An agency's token must not reach another agency's ticket."""
        mine = picked[0]
        other = next((t for t in picked if t["agency_id"] != mine["agency_id"]), None)
        if other is None:
            return
        resp = self.api(
            "POST", f"/tickets/{mine['id']}/resolve", tokens[other["agency_id"]], {"note": "bukan punya kami"}
        )
        self.expect(
            "an agency cannot act on another agency's ticket",
            resp.status_code in (403, 404),
            f"HTTP {resp.status_code}",
        )

    def fake_x_posts(self) -> list[dict[str, Any]]:
        from kemala_cli.local import fake_x_adapter

        return fake_x_adapter.posts(self.info["fake_x_url"])

    def check_dlqs(self) -> None:
        self.dlq_depths: dict[str, int] = {}
        urls = {k: v for k, v in self.info["queues"].items() if k.endswith("DLQ")}
        for url in self.info.get("agency_queues", {}).values():
            if url:
                urls[url.rsplit("/", 1)[-1] + "-dlq"] = url + "-dlq"
        for name, url in urls.items():
            try:
                attrs = self.sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
            except Exception:  # an agency-owned queue has no DLQ of ours
                continue
            self.dlq_depths[name] = int(attrs["ApproximateNumberOfMessages"]) + int(
                attrs["ApproximateNumberOfMessagesNotVisible"]
            )
        full = {k: v for k, v in self.dlq_depths.items() if v}
        self.expect(
            "every dead-letter queue is empty", not full, ", ".join(f"{k}={v}" for k, v in full.items())
        )

    # --- the end --------------------------------------------------------------------------------------

    def summary(self) -> None:
        tickets = self.tickets()
        status = Counter(t["status"] for t in tickets)
        per_agency = Counter(t["agency_id"] for t in tickets if t.get("agency_id"))
        self.busiest_agency = per_agency.most_common(1)[0][0] if per_agency else None
        w = self.out.write
        w(f"\nSummary ({self.elapsed:.1f}s)\n")
        rate = self.tally.deliveries / self.phases["deliveries"] if self.phases.get("deliveries") else 0.0
        w(
            f"  timing        {rate:.0f} deliveries/s; done at "
            + ", ".join(f"{name} {at:.1f}s" for name, at in self.phases.items())
            + "\n"
        )
        w(
            f"  received      {self.tally.deliveries} deliveries: {self.tally.tweets} complaint tweets, "
            f"{self.tally.duplicates} deduplicated, {self.tally.rejected} rejected (bad signature)\n"
        )
        w(
            f"  citizens      {self.tally.followups} follow-up attached, "
            f"{self.tally.withdrawn} tweet deleted (ticket withdrawn)\n"
        )
        w(f"  tickets       {len(tickets)}: " + ", ".join(f"{n} {s}" for s, n in status.most_common()) + "\n")
        w(
            f"  routing       {self.tally.auto_routed} auto-routed, {self.tally.to_triage} to triage "
            f"(then {self.tally.delegated} delegated, {self.tally.closed} closed by the operator)\n"
        )
        if per_agency:
            top = per_agency.most_common(8)
            rest = sum(per_agency.values()) - sum(n for _, n in top)
            others = len(per_agency) - len(top)
            w(
                "  per agency    "
                + ", ".join(f"{a} {n}" for a, n in top)
                + (f", +{rest} in {others} other agencies" if rest else "")
                + "\n"
            )
        w(
            f"  replies       {self.tally.replies_requested} requested through the API, "
            f"{self.tally.replies_posted} posted to X, {self.tally.resolved} resolved\n"
        )
        depths = getattr(self, "dlq_depths", {})
        template_dlqs = {k: v for k, v in depths.items() if not k.startswith("kemala-agency-")}
        agency_total = sum(v for k, v in depths.items() if k.startswith("kemala-agency-"))
        w(
            "  DLQs          "
            + ", ".join(f"{k} {v}" for k, v in template_dlqs.items())
            + f", agency DLQs {agency_total}\n"
        )
        w("\nExpectations\n")
        for e in self.expectations:
            mark = {True: "ok  ", False: "FAIL", None: "skip"}[e.ok]
            w(f"  {mark} {e.name}{f' ({e.detail})' if e.detail and e.ok is not True else ''}\n")

    def where_next(self) -> None:
        info, w = self.info, self.out.write
        token = info["tokens"].get("operator")
        w("\nWhere to look next\n")
        w(f"  API           {info['api_url']}   (state: {info.get('state_file', '.kemala/local.json')})\n")
        if token:
            w(f"  operator token {token}\n")
            w(
                f"  try           curl -s -H 'authorization: Bearer {token}' "
                f"'{info['api_url']}/tickets?status=RESOLVED&limit=5' | python3 -m json.tool\n"
            )
        agency = getattr(self, "busiest_agency", None) or next(
            iter(sorted(info.get("agency_queues", {}))), None
        )
        if agency:
            command = sys.argv[0] if Path(sys.argv[0]).name == "kemala" else "kemala"
            state = info.get("state_file", ".kemala/local.json")
            where = "" if state == ".kemala/local.json" else f" --state-dir {Path(state).parent}"
            w(f"  agency inbox  {command} inbox --agency {agency} --once{where}\n")
        w(f"  AWS (moto)    aws --endpoint-url {info['aws_endpoint_url']} sqs list-queues\n")
        w("  Ctrl-C stops the stack.\n")
