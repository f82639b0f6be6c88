"""Figures: the webhook's cold start against its floor (import boto3 + its DynamoDB, SQS and Secrets
Manager clients), and the same plus a first delivery, so that work moved from import to the first request
(lazy schema builds, the secret fetch) still counts.

The first request is one signed complaint from the real Account Activity capture, answered by
bench/aws_stub.py: GetSecretValue, the own-accounts GetItem, the create transaction, SendMessageBatch and
the outbox mark. Its floor is the minimal handler's work: GetSecretValue, the HMAC check, the JSON parse,
one conditional PutItem and one SendMessage. Budget (DESIGN.md): 1.3x.
"""

import sys

from cold_start import FirstRequest, main

SETUP = """
import aws_stub, base64, hashlib, hmac, json, types
from pathlib import Path
aws_stub.install()
shared = Path(aws_stub.__file__).resolve().parents[2] / "shared"
capture = shared / "data/x-webhooks/aaa-incoming_tweet_with_mention.json"
payload = json.loads(capture.read_text())
tweet = payload["tweet_create_events"][0]
tweet["text"] = "#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km 12, mohon diperbaiki"
tweet["entities"]["hashtags"] = [{"text": "KemalaJateng", "indices": [0, 13]}]
raw = json.dumps(payload).encode()
signature = "sha256=" + base64.b64encode(hmac.new(b"bench-secret", raw, hashlib.sha256).digest()).decode()
"""

FUNCTION = """
event = {
    "version": "2.0", "routeKey": "POST /webhooks/x", "rawPath": "/webhooks/x", "rawQueryString": "",
    "headers": {"content-type": "application/json", "x-twitter-webhooks-signature": signature},
    "requestContext": {"http": {"method": "POST", "path": "/webhooks/x"}, "requestId": "bench"},
    "body": raw.decode(), "isBase64Encoded": False,
}
context = types.SimpleNamespace(
    function_name="webhook", function_version="$LATEST", memory_limit_in_mb=512, aws_request_id="bench",
    invoked_function_arn="arn:aws:lambda:ap-southeast-3:123456789012:function:webhook",
)
resp = app.lambda_handler(event, context)
assert resp["statusCode"] == 200 and json.loads(resp["body"])["created"] == 1, resp
"""

FLOOR = """
secret = json.loads(clients["secretsmanager"].get_secret_value(SecretId="kemala/x-consumer")["SecretString"])
expected = "sha256=" + base64.b64encode(
    hmac.new(secret["consumer_secret"].encode(), raw, hashlib.sha256).digest()
).decode()
assert hmac.compare_digest(expected, signature)
for t in json.loads(raw)["tweet_create_events"]:
    clients["dynamodb"].put_item(
        TableName="tickets",
        Item={"pk": {"S": "TWEET#" + t["id_str"]}, "sk": {"S": "TWEET"}, "text": {"S": t["text"]}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    clients["sqs"].send_message(
        QueueUrl="https://sqs.ap-southeast-3.amazonaws.com/123456789012/routing",
        MessageBody=json.dumps({"tweet_id": t["id_str"]}),
    )
"""

if __name__ == "__main__":
    first = FirstRequest("one signed complaint delivery", SETUP, FUNCTION, FLOOR)
    sys.exit(main(["webhook", "dynamodb", "sqs", "secretsmanager"], first_request=first))
