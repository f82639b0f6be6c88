"""Lazily created, module-cached boto3 clients.

Functions only pay for the clients they use (cold start budget). The endpoint comes from boto3's own
`AWS_ENDPOINT_URL` support, which is how the local stack points everything at moto.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=2,
            read_timeout=5,
            parameter_validation=False,
        ),
    )


@cache
def secrets() -> Any:
    """Powertools' Secrets Manager provider (its own 5-minute value cache) on our cached client.

    `parameters.get_secret` would build its provider on a second boto3 session, whose first client costs
    ~50 ms of a cold function's first request.
    """
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))
