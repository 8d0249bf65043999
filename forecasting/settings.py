"""One typed configuration object for every entry point; nothing else reads the environment.

Values come from `DELAI_*` variables (and `MLFLOW_TRACKING_URI`, the name MLflow users know).
Outside development, defaults that would be unsafe in production are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SALT = "delai-development-salt"
# An admin token shorter than this is guessable; refused outside development.
MIN_ADMIN_TOKEN_LENGTH = 32


class Settings(BaseSettings):
    """delai configuration; see the README for every variable."""

    model_config = SettingsConfigDict(env_prefix="DELAI_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    id_salt: SecretStr = SecretStr(DEV_SALT)
    tracking_uri: str = Field(
        default="sqlite:///mlflow.db",
        validation_alias=AliasChoices("DELAI_TRACKING_URI", "MLFLOW_TRACKING_URI"),
    )
    artifact_root: Path = Path("mlartifacts")
    model_name: str = "processing-time"

    # --- serving -------------------------------------------------------------------------------
    # The last model loaded from the registry is kept here, to serve when the registry is down.
    model_cache_dir: Path = Path(".delai-cache")
    # How long startup waits for the registry before serving the cached model meanwhile.
    registry_timeout_seconds: float = Field(default=60.0, gt=0)
    # How often the server asks the registry whether the champion moved; 0 never asks.
    reload_interval_seconds: float = Field(default=60.0, ge=0)
    # Bearer token for POST /admin/reload; unset disables the endpoint.
    admin_token: SecretStr | None = None
    # Bearer token for the planners' what-ifs (/v1/scenarios, /planner); unset turns them off.
    planner_token: SecretStr | None = None
    # A scenario is a few kB; its routes take far less than the estimate batch's limit.
    scenario_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Browser origins allowed to call the API (comma-separated or a JSON list); none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    batch_limit: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    cache_max_age_seconds: int = Field(default=300, ge=0)
    # Adds /v1/_bench/constant, the baseline of `make bench-serve`; development only.
    bench_routes: bool = False

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("admin_token", "planner_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(
                    "`DELAI_CORS_ORIGINS` must list origins like https://example.ca, "
                    f"got '{origin}'"
                )
        return [origin.rstrip("/") for origin in value]

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment == "development":
            return self
        if self.id_salt.get_secret_value() == DEV_SALT:
            raise ValueError(
                "`DELAI_ID_SALT` must be set to a secret outside development, got the default"
            )
        if "*" in self.cors_origins:
            raise ValueError(
                "`DELAI_CORS_ORIGINS` must list the allowed origins outside development, got '*'"
            )
        if self.admin_token is not None:
            length = len(self.admin_token.get_secret_value())
            if length < MIN_ADMIN_TOKEN_LENGTH:
                raise ValueError(
                    f"`DELAI_ADMIN_TOKEN` must be at least {MIN_ADMIN_TOKEN_LENGTH} characters "
                    f"outside development (or unset, which disables /admin/reload), got {length}"
                )
        if self.planner_token is not None:
            length = len(self.planner_token.get_secret_value())
            if length < MIN_ADMIN_TOKEN_LENGTH:
                raise ValueError(
                    f"`DELAI_PLANNER_TOKEN` must be at least {MIN_ADMIN_TOKEN_LENGTH} characters "
                    f"outside development (or unset, which turns the planner routes off), "
                    f"got {length}"
                )
        if self.bench_routes:
            raise ValueError("`DELAI_BENCH_ROUTES` must be off outside development, got on")
        return self
