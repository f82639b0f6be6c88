"""Figure: the webhook's cold start against its floor (import boto3 + its DynamoDB, SQS, Secrets clients)."""

import sys

from cold_start import main

if __name__ == "__main__":
    sys.exit(main(["webhook", "dynamodb", "sqs", "secretsmanager"]))
