"""`kemala inbox`: an agency's consumer against the running local stack."""

from __future__ import annotations

import subprocess

import boto3
import pytest
from kemala.ids import iso, new_ticket_id, reference_code, utc_now
from kemala.models.messages import Envelope, MessageType
from kemala.models.ticket import Ticket, TicketStatus

from tests.e2e.conftest import RunningStack, kemala, stack_env

pytestmark = pytest.mark.e2e

AGENCY = "jateng-bapenda"  # no test routes anything to the provincial tax agency


def assigned_message() -> Envelope:
    at = iso(utc_now())
    ticket_id = new_ticket_id()
    ticket = Ticket(
        id=ticket_id,
        ref=reference_code(ticket_id),
        tweet_id="1868000000000000999",
        author_id="1500000009",
        text="#KemalaJateng tagihan PBB saya dobel di Kota Semarang, mohon dicek",
        status=TicketStatus.ASSIGNED,
        category="regional_tax",
        region="kota-semarang",
        agency_id=AGENCY,
        created_at=at,
        updated_at=at,
    )
    return Envelope.build(MessageType.ASSIGNED, ticket, at)


def inbox(stack: RunningStack) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kemala("inbox", "--agency", AGENCY, "--once", "--state-dir", str(stack.state_dir)),
        env=stack_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_inbox_prints_valid_messages_deletes_them_and_leaves_invalid_ones(local_stack: RunningStack) -> None:
    sqs = boto3.client("sqs", endpoint_url=local_stack["aws_endpoint_url"], region_name=local_stack["region"])
    queue = local_stack["agency_queues"][AGENCY]
    message = assigned_message()
    sqs.send_message(QueueUrl=queue, MessageBody=message.model_dump_json())
    sqs.send_message(QueueUrl=queue, MessageBody='{"version": 1, "type": "ticket.assigned"}')

    result = inbox(local_stack)

    assert result.returncode == 1, result.stderr  # an invalid message was seen
    assert message.ticket.ref in result.stdout and "ticket.assigned" in result.stdout
    assert "tagihan PBB" in result.stdout and "regional_tax" in result.stdout
    assert "INVALID" in result.stderr and "1 handled, 1 invalid" in result.stderr
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    # the valid one is gone; the invalid one is still there (in flight until its visibility timeout)
    left = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
    assert left == 1


def test_inbox_refuses_an_unknown_agency(local_stack: RunningStack) -> None:
    result = subprocess.run(
        kemala("inbox", "--agency", "no-such-agency", "--once", "--state-dir", str(local_stack.state_dir)),
        env=stack_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "unknown agency 'no-such-agency'" in result.stderr
