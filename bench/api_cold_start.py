"""Figures: the API's cold start against its floor (import boto3 + its DynamoDB and SQS clients), and the
same plus a first request, so that work moved from import to the first request still counts.

The first request is an operator's `GET /tickets?status=TRIAGE` answered with a page of three tickets (one
DynamoDB Query, through bench/aws_stub.py); its floor makes that same Query with a plain boto3 client.
Budget: 1.3x, as DESIGN.md sets for webhook and router. Not included: the first *reply* of a container also
imports twitter-text (its regexes, ~0.3 s; docs/decisions.md "API cold start").
"""

import sys

from cold_start import FirstRequest, main

SETUP = """
import aws_stub

def _ticket(n):
    values = {
        "pk": f"TICKET#01JAAAAAAAAAAAAAAAAAAAAAA{n}", "sk": "TICKET", "id": f"01JAAAAAAAAAAAAAAAAAAAAAA{n}",
        "ref": f"KML-{n}", "tweet_id": f"19000000000000000{n}", "author_id": "14235326",
        "status": "TRIAGE", "category": "public_works", "region": "kota-semarang",
        "text": "#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km 12, mohon diperbaiki",
        "created_at": "2026-12-01T08:00:00.000Z", "updated_at": "2026-12-01T08:00:01.000Z",
        "gsi2pk": "STATUS#TRIAGE", "gsi2sk": f"2026-12-01T08:00:00.000Z#01JAAAAAAAAAAAAAAAAAAAAAA{n}",
        "last_hash": "0" * 64,
    }
    item = {k: {"S": v} for k, v in values.items()}
    item["version"] = {"N": "2"}
    item["suggestions"] = {"L": [{"M": {"category": {"S": "public_works"}, "confidence": {"N": "0.41"}}}]}
    return item

_page = {"Items": [_ticket(n) for n in range(3)], "Count": 3, "ScannedCount": 3}
_default = aws_stub._answer
aws_stub._answer = lambda op, req: _page if op == "DynamoDB_20120810.Query" else _default(op, req)
aws_stub.install()
"""

FUNCTION = """
import json, types
event = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/tickets", "rawQueryString": "status=TRIAGE",
    "queryStringParameters": {"status": "TRIAGE"}, "headers": {"authorization": "Bearer kml_x"},
    "requestContext": {
        "http": {"method": "GET", "path": "/tickets", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                 "userAgent": "bench"},
        "authorizer": {"lambda": {"role": "operator", "token_id": "0123456789ab"}},
        "requestId": "bench", "routeKey": "$default", "stage": "$default", "accountId": "123456789012",
        "apiId": "api", "domainName": "local", "domainPrefix": "local", "time": "", "timeEpoch": 0,
    },
    "body": None, "isBase64Encoded": False,
}
context = types.SimpleNamespace(
    function_name="api", memory_limit_in_mb=512, aws_request_id="bench",
    invoked_function_arn="arn:aws:lambda:ap-southeast-3:123456789012:function:api",
)
resp = app.lambda_handler(event, context)
assert resp["statusCode"] == 200 and len(json.loads(resp["body"])["items"]) == 3, resp
"""

FLOOR = """
resp = clients["dynamodb"].query(
    TableName="tickets", IndexName="StatusBoard", KeyConditionExpression="#ipk = :ipk",
    ExpressionAttributeNames={"#ipk": "gsi2pk"}, ExpressionAttributeValues={":ipk": {"S": "STATUS#TRIAGE"}},
    Limit=25,
)
assert len(resp["Items"]) == 3
"""

if __name__ == "__main__":
    first = FirstRequest("GET /tickets?status=TRIAGE, 3 tickets", SETUP, FUNCTION, FLOOR)
    sys.exit(main(["api", "dynamodb", "sqs"], first_request=first))
