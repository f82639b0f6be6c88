"""Shared fixtures: moto-backed AWS built from template.yaml, and the real payloads in ../shared/data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from kemala_cli.cfn import dynamodb_create_table_args, resources_of_type, template
from moto import mock_aws

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
CONSUMER_SECRET = "test-consumer-secret"


def shared_json(relative: str) -> Any:
    return json.loads((SHARED_DATA / relative).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: fake credentials, a fixed region, no endpoint override."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "KemalaTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "test")
    monkeypatch.setenv("POWERTOOLS_DEV", "false")


@pytest.fixture
def aws() -> Iterator[None]:
    from kemala import aws as kemala_aws
    from kemala_cli import moto_atomic

    moto_atomic.install()  # DynamoDB's per-request atomicity, which moto's backend lacks under threads

    kemala_aws.client.cache_clear()
    kemala_aws.secrets.cache_clear()
    with mock_aws():
        yield
    kemala_aws.client.cache_clear()
    kemala_aws.secrets.cache_clear()


class Stack:
    """The moto resources the tests need, named like the template's logical ids."""

    def __init__(self) -> None:
        self.ddb = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")
        self.secrets = boto3.client("secretsmanager")
        tmpl = template()
        self.tables: dict[str, str] = {}
        for logical, res in resources_of_type(tmpl, "AWS::DynamoDB::Table").items():
            name = f"kemala-{logical}"
            self.ddb.create_table(**dynamodb_create_table_args(res["Properties"], name))
            self.tables[logical] = name
        self.queues: dict[str, str] = {}
        for logical in resources_of_type(tmpl, "AWS::SQS::Queue"):
            self.queues[logical] = self.sqs.create_queue(QueueName=f"kemala-{logical}")["QueueUrl"]
        self.secrets.create_secret(
            Name="kemala/x-consumer", SecretString=json.dumps({"consumer_secret": CONSUMER_SECRET})
        )

    def receive_all(self, logical: str) -> list[dict[str, Any]]:
        """Drain a queue and return the decoded message bodies."""
        bodies = []
        while True:
            resp = self.sqs.receive_message(
                QueueUrl=self.queues[logical], MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            msgs = resp.get("Messages", [])
            if not msgs:
                return bodies
            for m in msgs:
                bodies.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queues[logical], ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def stack(aws: None) -> Stack:
    return Stack()


@pytest.fixture
def function_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Environment variables as template.yaml gives them to the functions."""
    monkeypatch.setenv("TICKETS_TABLE", stack.tables["TicketsTable"])
    monkeypatch.setenv("DIRECTORY_TABLE", stack.tables["DirectoryTable"])
    monkeypatch.setenv("ROUTING_QUEUE_URL", stack.queues["RoutingQueue"])
    monkeypatch.setenv("X_CONSUMER_SECRET_NAME", "kemala/x-consumer")
    monkeypatch.setenv("KEMALA_HASHTAGS", "KemalaJateng,LaporGub")
    for logical, url in stack.queues.items():
        env_name = "".join("_" + c if c.isupper() else c for c in logical).lstrip("_").upper() + "_URL"
        monkeypatch.setenv(env_name, url)
    return stack
