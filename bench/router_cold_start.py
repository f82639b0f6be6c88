"""Figure: the router's cold start against its floor (import boto3 + its DynamoDB and SQS clients).

The classifier's model is loaded on the first message, not at init; its load time is bench/classifier.py's
figure (budget 50 ms).
"""

import sys

from cold_start import main

if __name__ == "__main__":
    sys.exit(main(["router", "dynamodb", "sqs"]))
