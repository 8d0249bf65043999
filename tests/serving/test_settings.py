"""The serving settings: parsed from the environment, and unsafe production values refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from forecasting.settings import MIN_ADMIN_TOKEN_LENGTH, Settings

SECRET = {"DELAI_ENVIRONMENT": "production", "DELAI_ID_SALT": "a-real-secret-salt"}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in SECRET.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("https://a.example, https://b.example/", ["https://a.example", "https://b.example"]),
        ('["https://a.example"]', ["https://a.example"]),
        ("", []),
    ],
)
def test_cors_origins_read_as_a_list_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    monkeypatch.setenv("DELAI_CORS_ORIGINS", raw)
    assert Settings().cors_origins == origins


def test_an_origin_must_be_an_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAI_CORS_ORIGINS", "example.org")
    with pytest.raises(ValidationError, match="must list origins like https://example.ca"):
        Settings()


def test_production_accepts_a_careful_configuration(production: pytest.MonkeyPatch) -> None:
    production.setenv("DELAI_CORS_ORIGINS", "https://canada.example")
    production.setenv("DELAI_ADMIN_TOKEN", "x" * MIN_ADMIN_TOKEN_LENGTH)
    settings = Settings()
    assert settings.admin_token is not None and settings.cors_origins == ["https://canada.example"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DELAI_CORS_ORIGINS", "*", "must list the allowed origins outside development, got '\\*'"),
        ("DELAI_ADMIN_TOKEN", "short", "must be at least 32 characters outside development"),
        ("DELAI_BENCH_ROUTES", "true", "must be off outside development"),
    ],
)
def test_production_refuses_unsafe_values(
    production: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    production.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_development_allows_what_production_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAI_CORS_ORIGINS", "*")
    monkeypatch.setenv("DELAI_ADMIN_TOKEN", "short")
    assert Settings().cors_origins == ["*"]


def test_a_blank_admin_token_disables_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAI_ADMIN_TOKEN", "  ")
    assert Settings().admin_token is None


def test_a_blank_planner_token_turns_the_planner_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAI_PLANNER_TOKEN", " ")
    assert Settings().planner_token is None


def test_production_refuses_a_short_planner_token(production: pytest.MonkeyPatch) -> None:
    production.setenv("DELAI_PLANNER_TOKEN", "short")
    with pytest.raises(ValidationError, match="`DELAI_PLANNER_TOKEN` must be at least 32"):
        Settings()
    production.setenv("DELAI_PLANNER_TOKEN", "p" * MIN_ADMIN_TOKEN_LENGTH)
    assert Settings().planner_token is not None
