"""Figures: the authorizer's cold start against its floor (import boto3 + its DynamoDB client), and the same
plus a first request, so that work moved from import to the first request (the token record's deferred
validator) still counts.

The first request is a live operator token: one DynamoDB GetItem answered through bench/aws_stub.py with the
token's record, validated and allowed; its floor makes that same GetItem with a plain boto3 client.
Budget: 1.3x, as DESIGN.md sets for webhook and router.
"""

import sys

from cold_start import FirstRequest, main

SETUP = """
import hashlib
import aws_stub

TOKEN = "kml_" + "A" * 43
HASH = hashlib.sha256(TOKEN.encode()).hexdigest()
_item = {"Item": {
    "pk": {"S": "TOKEN#" + HASH}, "sk": {"S": "TOKEN"}, "item_type": {"S": "token"},
    "token_hash": {"S": HASH}, "role": {"S": "operator"}, "label": {"S": "bench"},
    "created_at": {"S": "2026-12-01T08:00:00.000Z"},
}}
_default = aws_stub._answer
aws_stub._answer = lambda op, req: _item if op == "DynamoDB_20120810.GetItem" else _default(op, req)
aws_stub.install()
"""

FUNCTION = """
import types
event = {
    "version": "2.0", "type": "REQUEST",
    "routeArn": "arn:aws:execute-api:ap-southeast-3:123456789012:api/$default/GET/tickets",
    "identitySource": ["Bearer " + TOKEN], "routeKey": "GET /tickets", "rawPath": "/tickets",
    "rawQueryString": "", "headers": {"authorization": "Bearer " + TOKEN, "host": "api.local"},
    "requestContext": {
        "http": {"method": "GET", "path": "/tickets"}, "requestId": "bench", "stage": "$default",
    },
}
context = types.SimpleNamespace(
    function_name="authorizer", memory_limit_in_mb=256, aws_request_id="bench",
    invoked_function_arn="arn:aws:lambda:ap-southeast-3:123456789012:function:authorizer",
)
resp = app.lambda_handler(event, context)
assert resp["isAuthorized"] is True and resp["context"]["role"] == "operator", resp
"""

FLOOR = """
resp = clients["dynamodb"].get_item(
    TableName="directory", Key={"pk": {"S": "TOKEN#" + HASH}, "sk": {"S": "TOKEN"}}
)
assert "Item" in resp
"""

if __name__ == "__main__":
    first = FirstRequest("a live operator token", SETUP, FUNCTION, FLOOR)
    sys.exit(main(["authorizer", "dynamodb"], first_request=first))
