"""An agency's X credentials, from Secrets Manager through Powertools parameters (cached 5 minutes).

The secret is JSON `{"consumer_key", "consumer_secret", "access_token", "access_token_secret"}` under the
agency's `x_secret_name`, which must start with `kemala/agency/`: the replier may read nothing else (IAM).
Rotation: put a new secret version; warm functions pick it up within `CACHE_SECONDS`.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from kemala import aws
from kemala.routing.types import Agency
from kemala.store.dynamo import StorageUnavailable
from kemala.x.client import XCredentials

SECRET_PREFIX = "kemala/agency/"
CACHE_SECONDS = 300
_CONFIG_ERRORS = ("ResourceNotFoundException", "AccessDenied", "InvalidRequestException", "DecryptionFailure")


class CredentialsUnusable(Exception):
    """The agency's X credentials are missing or malformed: a configuration error the agency must fix.
    The message names the problem, never a credential value."""


def agency_credentials(agency: Agency) -> XCredentials:
    """Raises CredentialsUnusable (permanent) or StorageUnavailable (Secrets Manager down: retry)."""
    name = agency.x_secret_name
    if not name:
        raise CredentialsUnusable(f"agency {agency.id} has no X account credentials (x_secret_name unset)")
    if not name.startswith(SECRET_PREFIX):
        raise CredentialsUnusable(
            f"agency {agency.id}: x_secret_name {name!r} must start with {SECRET_PREFIX!r}"
        )
    try:
        value = aws.secrets().get(name, transform="json", max_age=CACHE_SECONDS)
    except TransformParameterError:
        raise CredentialsUnusable(f"agency {agency.id}: secret {name!r} is not JSON") from None
    except GetParameterError as exc:
        if any(code in str(exc) for code in _CONFIG_ERRORS):
            raise CredentialsUnusable(f"agency {agency.id}: secret {name!r} cannot be read") from None
        raise StorageUnavailable(f"Secrets Manager failed for {name!r}") from None
    try:
        return XCredentials.from_secret(value)
    except ValueError as exc:
        raise CredentialsUnusable(f"agency {agency.id}: secret {name!r}: {exc}") from None
