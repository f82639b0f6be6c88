"""template.yaml → samtranslator → moto: the generic resource pipeline, on the real template."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from kemala_cli.local import moto_speed
from kemala_cli.local.intrinsics import Resolver
from kemala_cli.local.resources import create_resources, generate_secret_string, name_resources
from kemala_cli.local.template import translate

REGION = "ap-southeast-3"


@pytest.fixture
def created(aws: None) -> Any:
    translated = translate(REGION)
    resolver = Resolver(translated.parameters, translated.conditions)
    names = name_resources(translated, resolver, REGION)
    return translated, resolver, create_resources(translated, resolver, names, boto3.client)


def test_queues_tables_and_secrets_are_created_as_declared(created: Any) -> None:
    _, resolver, done = created
    sqs, ddb = boto3.client("sqs"), boto3.client("dynamodb")
    attrs = sqs.get_queue_attributes(QueueUrl=done.queues["RoutingQueue"], AttributeNames=["All"])[
        "Attributes"
    ]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == done.queue_arns["RoutingDLQ"]
    assert int(redrive["maxReceiveCount"]) == 5 and attrs["VisibilityTimeout"] == "180"
    table = ddb.describe_table(TableName=done.tables["TicketsTable"])["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} >= {"AgencyInbox", "StatusBoard"}
    ttl = ddb.describe_time_to_live(TableName=done.tables["TicketsTable"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert "kemala/x-consumer" in done.secret_values  # the name from the XConsumerSecretName default
    assert resolver.resolve({"Ref": "RoutingQueue"}) == done.queues["RoutingQueue"]


def test_every_function_environment_resolves(created: Any) -> None:
    from kemala_cli.local.functions import build_environments

    translated, resolver, done = created
    envs = build_environments(translated, resolver, {"X_API_BASE_URL": "http://fake-x"})
    webhook = envs["WebhookFunction"]
    assert webhook["ROUTING_QUEUE_URL"] == done.queues["RoutingQueue"]
    assert webhook["TICKETS_TABLE"] == "kemala-TicketsTable"
    for env in envs.values():
        assert all(isinstance(v, str) and "Fn::" not in v for v in env.values())
        if "X_API_BASE_URL" in env:
            assert env["X_API_BASE_URL"] == "http://fake-x"


def test_generated_secrets_follow_the_spec() -> None:
    value = generate_secret_string({"PasswordLength": 50, "ExcludePunctuation": True})
    assert len(value) == 50 and value.isalnum()
    doc = json.loads(generate_secret_string({"SecretStringTemplate": '{"u": "a"}', "GenerateStringKey": "p"}))
    assert doc["u"] == "a" and len(doc["p"]) == 32


def _backend() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"][REGION]


def test_fast_transactions_apply_and_roll_back_exactly_the_named_items(aws: None) -> None:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    write_a = {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "v": {"N": "2"}}}}
    fail_b = {
        "Put": {"TableName": "t", "Item": {"pk": {"S": "b"}}, "ConditionExpression": "attribute_exists(pk)"}
    }
    from moto.dynamodb.exceptions import TransactionCanceledException

    with pytest.raises(TransactionCanceledException):
        moto_speed._transact_write_items(_backend(), [write_a, fail_b])
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "1"}  # rolled back
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "b"}})
    new_c = {
        "Put": {
            "TableName": "t",
            "Item": {"pk": {"S": "c"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    moto_speed._transact_write_items(_backend(), [write_a, new_c])
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "2"}
    assert "Item" in ddb.get_item(TableName="t", Key={"pk": {"S": "c"}})


def test_tls_only_bucket_policy_is_not_applied_on_the_plain_http_endpoint(created: Any) -> None:
    _, _, done = created
    s3 = boto3.client("s3")
    bucket = done.buckets["AuditBucket"]
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = {"Statement": []}  # no statement left: no policy at all
    assert "aws:SecureTransport" not in json.dumps(policy)
    assert any("TLS-only statements skipped" in note for note in done.notes)
