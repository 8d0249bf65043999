"""One shape for every error answer: a status, a sentence, and per-field expected/got problems.

FastAPI's own 422s (a missing parameter, a body that is not JSON) are rewritten to the same shape,
and unexpected exceptions answer a bare 500 that names no internals.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from forecasting.whatif.scenario import CHANGE_KINDS

logger = logging.getLogger(__name__)

_MAX_ECHO = 80
_TAGS = frozenset(CHANGE_KINDS)
# "`end` must be a date after `start`, got 2026-01-05": a message that names its own field.
_NAMED = re.compile(r"`(?P<field>[^`]+)` must be (?P<expected>.+), got (?P<got>.+)", re.DOTALL)
_NO_STORE = {"Cache-Control": "no-store"}
_UNDECODABLE_BODY = "There was an error parsing the body"


@dataclass(frozen=True)
class Problem:
    """What was wrong with one field: the field, what was expected, and what was got."""

    field: str
    expected: str
    got: str
    location: str = "query"

    @property
    def message(self) -> str:
        return f"`{self.field}` must be {self.expected}, got {self.got}"

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "in": self.location,
            "expected": self.expected,
            "got": self.got,
            "message": self.message,
        }


class InputError(Exception):
    """A request the API understood but cannot answer, with each problem named."""

    def __init__(self, problems: Sequence[Problem], status: int = 422) -> None:
        self.problems = tuple(problems)
        self.status = status
        super().__init__("; ".join(p.message for p in self.problems))


def echo(value: object) -> str:
    """A received value as an error message quotes it: short, and never more than a line."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        text = value if len(value) <= _MAX_ECHO else value[:_MAX_ECHO] + "..."
        # Lone surrogates (valid in JSON text, not in UTF-8) become "?".
        text = text.encode("utf-8", "replace").decode("utf-8")
        return "'" + text.replace("\n", "\\n").replace("\r", "\\r") + "'"
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else type(value).__name__


def error_body(status: int, message: str, problems: Sequence[Problem] = ()) -> dict[str, Any]:
    return {"status": status, "message": message, "problems": [p.as_dict() for p in problems]}


def error_response(
    status: int,
    message: str,
    problems: Sequence[Problem] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = json.dumps(error_body(status, message, problems)).encode()
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**_NO_STORE, **(headers or {})},
    )


def summary(problems: Sequence[Problem]) -> str:
    """One sentence for the whole error: the problems' messages, joined."""
    return "; ".join(p.message for p in problems) or "the request is invalid"


def from_validation(errors: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Pydantic's error list as Problems that name the field, the expectation and the input."""
    return [_problem(error) for error in errors]


def _problem(error: Mapping[str, Any]) -> Problem:
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc and loc[0] in ("query", "body", "header", "path") else "body"
    parts = loc[1:] if loc and loc[0] == location else loc
    # A union's tag after a list index is pydantic's, not a field the client wrote.
    parts = [p for i, p in enumerate(parts) if not (i and parts[i - 1].isdigit() and p in _TAGS)]
    field = ""
    for part in parts:
        field += f"[{part}]" if part.isdigit() else (f".{part}" if field else part)
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    got = "nothing" if kind == "missing" else echo(error.get("input"))
    if kind == "missing":
        expected = "given"
    elif kind == "json_invalid":
        field, expected = "", "valid JSON"
        got = f"text that is not ({ctx.get('error', 'unparseable')})"
    elif kind == "string_too_long":
        expected = f"at most {ctx.get('max_length')} characters"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        expected = "a JSON object"
    elif kind == "list_type":
        expected = "a list"
    elif kind in ("too_long", "too_short"):
        bound = "at most" if kind == "too_long" else "at least"
        expected = f"{bound} {ctx.get('max_length', ctx.get('min_length'))} items"
        got = f"{ctx.get('actual_length')} items"
    elif kind == "union_tag_invalid":
        expected = f"one of {ctx.get('expected_tags')}"
        got = echo(ctx.get("tag"))
    elif kind == "union_tag_not_found":
        expected = f"an object with a {ctx.get('discriminator')} field"
    elif kind == "value_error" and (named := _NAMED.fullmatch(_value_message(error))):
        # A model's own check already named its field, expectation and input: keep its words.
        inner = named["field"]
        field = f"{field}.{inner}" if field and not inner.startswith(field) else inner
        expected, got = named["expected"], named["got"]
    elif kind == "extra_forbidden":
        # Not echoed: a field this API does not take might hold an application id.
        expected, got = "absent (the API takes no other fields)", "a value"
    else:
        message = str(error.get("msg", "valid"))
        expected = message.removeprefix("Input should be ").removeprefix("Value error, ")
    return Problem(field=field or location, expected=expected, got=got, location=location)


def named_problem(message: str, location: str = "body") -> Problem | None:
    """A message in the house form "`field` must be EXPECTED, got GOT" as a Problem, else None."""
    named = _NAMED.fullmatch(message)
    if named is None:
        return None
    return Problem(named["field"], named["expected"], named["got"], location)


def _value_message(error: Mapping[str, Any]) -> str:
    return str(error.get("msg", "")).removeprefix("Value error, ")


def install(app: FastAPI) -> None:
    """Register the handlers that give every error answer the shape above."""

    async def input_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        return error_response(exc.status, summary(exc.problems), exc.problems)

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = from_validation(exc.errors())
        return error_response(422, summary(problems), problems)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == _UNDECODABLE_BODY:
            # FastAPI's bare 400 for a body json cannot even decode (not UTF-8): name the field.
            problem = Problem("body", "a JSON document in UTF-8", "bytes that are not", "body")
            return error_response(422, problem.message, [problem])
        return error_response(exc.status_code, str(exc.detail), (), exc.headers)

    async def unexpected(_: Request, exc: Exception) -> Response:
        logger.error("unexpected %s while answering a request", type(exc).__name__, exc_info=exc)
        return error_response(500, "the server failed to answer; this is a bug, not your request")

    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
