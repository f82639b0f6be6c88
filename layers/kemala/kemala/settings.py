"""Settings read from environment variables and validated once, at cold start.

Each function declares a pydantic model of the variables it needs; `load_settings` fills it from
`os.environ` by upper-cased field name and fails with one error that names every missing or bad variable,
so a misconfigured deployment is obvious from the first log line. Secrets are never settings: only the
*names* of secrets are, and the values come from Secrets Manager.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

T = TypeVar("T", bound=BaseModel)


class ConfigError(RuntimeError):
    """Raised at cold start when the environment does not hold a valid configuration."""


def load_settings(model: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build `model` from environment variables named like its fields, upper-cased."""
    env = os.environ if environ is None else environ
    values = {name: env[name.upper()] for name in model.model_fields if name.upper() in env}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            var = str(err["loc"][0]).upper() if err["loc"] else "?"
            reason = "is missing" if err["type"] == "missing" else f"is invalid: {err['msg']}"
            problems.append(f"environment variable {var} {reason}")
        raise ConfigError("; ".join(problems)) from None


class BaseSettings(BaseModel):
    """Common to every function."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tickets_table: str = Field(min_length=1)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip().lstrip("#") for part in value.split(",") if part.strip())
    return value


class WebhookSettings(BaseSettings):
    """What functions/webhook needs."""

    directory_table: str = Field(min_length=1)
    routing_queue_url: str = Field(min_length=1)
    x_consumer_secret_name: str = Field(min_length=1)
    kemala_hashtags: tuple[str, ...] = Field(min_length=1)
    # X sends at most a few events per delivery (a few KB each); 512 KiB leaves room for large batches
    # while refusing abuse before any work is done. Documented in docs/webhook.md.
    max_body_bytes: int = Field(default=512 * 1024, gt=0)
    reopen_window_days: int = Field(default=14, ge=0)

    _split = field_validator("kemala_hashtags", mode="before")(_split_csv)
