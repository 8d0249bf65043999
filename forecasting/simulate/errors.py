"""The error the simulator raises for arguments it cannot honour."""

from __future__ import annotations

from forecasting.errors import DelaiError


class SimulationArgumentError(DelaiError, ValueError):
    """An argument to `simulate` is out of range; names the field, what was expected and got."""

    def __init__(self, field: str, expected: str, got: str) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        super().__init__(f"`{field}` must be {expected}, got {got}")
