"""One typed configuration object for every entry point; nothing else reads the environment.

Values come from `DELAI_*` variables (and `MLFLOW_TRACKING_URI`, the name MLflow users know).
Outside development, defaults that would be unsafe in production are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SALT = "delai-development-salt"


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

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment != "development" and self.id_salt.get_secret_value() == DEV_SALT:
            raise ValueError(
                "`DELAI_ID_SALT` must be set to a secret outside development, got the default"
            )
        return self
