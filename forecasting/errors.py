"""Errors raised at the data boundary; each names the field, what was expected and what was got."""

from __future__ import annotations


class DelaiError(Exception):
    """Base class for every error delai raises on purpose."""


class DataContractError(DelaiError, ValueError):
    """The input cannot be read as the contract demands (missing file, format or column)."""

    def __init__(self, field: str, expected: str, got: str) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        super().__init__(f"`{field}` must be {expected}, got {got}")
