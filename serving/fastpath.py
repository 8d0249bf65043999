"""A pre-routing fast path for repeat estimates: the route's own bytes and headers, no framework.

Measured (`make bench-serve`): FastAPI's per-request work (routing, dependency solving, query
parsing) costs several times the estimate lookup, which left GET /v1/estimate no faster than a
bare constant route. So an estimate already serialised by the route is answered here, inside the
metrics, security-header and CORS middlewares, with the same body and headers. Anything else (a
first request, an escape in the query, If-None-Match, an invalid or missing field, no model)
goes on to the route, which checks it, answers in full and keeps the bytes for next time. A test
asserts both paths send identical answers.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from forecasting.schema import DEFAULT_REGION
from serving.holder import ModelHolder
from serving.http import JSON, cache_headers
from serving.i18n import LANGUAGES, pick_language

ESTIMATE_PATH = "/v1/estimate"
_CONTENT_TYPE = (b"content-type", JSON.encode())


class EstimateFastPath:
    """Answers GET /v1/estimate from the served model's pre-serialised bytes when it can."""

    def __init__(
        self, app: ASGIApp, *, holder: ModelHolder, max_age: int, route: object = None
    ) -> None:
        self.app = app
        self.holder = holder
        self.max_age = max_age
        # The route this stands in for, so metrics count its answers under the route's name.
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == ESTIMATE_PATH and scope["method"] == "GET":
            answer = self._answer(scope)
            if answer is not None:
                body, headers = answer
                if self.route is not None:
                    scope["route"] = self.route
                length = (b"content-length", str(len(body)).encode())
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [length, _CONTENT_TYPE, *headers],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> tuple[bytes, tuple[tuple[bytes, bytes], ...]] | None:
        served = self.holder.state.served
        raw: bytes = scope["query_string"]
        # Escaped queries are rare and parsing them is the route's job.
        if served is None or b"%" in raw or b"+" in raw:
            return None
        query: dict[str, str] = {}
        for part in raw.decode("latin-1").split("&"):
            name, _, value = part.partition("=")
            query[name] = value  # the last of repeated names wins, as in Starlette
        accept_language = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                return None
            if name == b"accept-language" and accept_language is None:
                accept_language = value.decode("latin-1")
        lang = query.get("lang")
        if lang is not None and lang not in LANGUAGES:
            return None
        chosen = pick_language(lang, accept_language)
        key = (
            query.get("service"),
            query.get("channel"),
            query.get("region", DEFAULT_REGION),
            query.get("submitted_on"),
        )
        prepared = served.prepared
        body = prepared.bodies[chosen].get(key)  # type: ignore[arg-type]
        if body is None:
            return None
        vary = None if lang else "Accept-Language"
        return body, cache_headers(prepared.etag(chosen), self.max_age, vary)
