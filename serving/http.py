"""HTTP edges shared by every route: security and cache headers, body limits, ETags and 304s.

The middlewares are plain ASGI (no `BaseHTTPMiddleware`): they only add headers or count bytes,
and each costs about a microsecond on the estimate route, whose throughput is benchmarked.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_response

# default-src 'self' is what the status page needs: its scripts, styles and images are ours.
PAGE_CSP = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
# Swagger UI comes from a CDN and starts with an inline script: allowed on /docs only.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; base-uri 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
NO_STORE = "no-store"
JSON = "application/json"


def _raw(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class EdgeHeaders:
    """Adds the security headers to every answer, and `Cache-Control: no-store` to any that
    did not choose its own caching (health, admin, errors, metrics)."""

    def __init__(self, app: ASGIApp, *, https_only: bool) -> None:
        self.app = app
        common = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        }
        if https_only:
            common["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        self.page = _raw({**common, "Content-Security-Policy": PAGE_CSP})
        self.docs = _raw({**common, "Content-Security-Policy": DOCS_CSP})
        self.no_store = (b"cache-control", NO_STORE.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs if scope["path"] in DOCS_PATHS else self.page

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name == b"cache-control" for name, _ in headers):
                    headers.append(self.no_store)
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413, whether or not Content-Length says so.

    `per_path` sets a different limit for some paths (the scenario routes take a few kB).
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    @staticmethod
    def _message(limit: int) -> str:
        return f"the request body must be at most {limit:,} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    response = error_response(
                        413, f"{self._message(limit)}, got {value.decode()!s}"
                    )
                    await response(scope, receive, send)
                    return
                break
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the route's body read, so the exception handlers answer it.
                    raise HTTPException(413, f"{self._message(limit)}, got more")
            return message

        await self.app(scope, counted, send)


def matches(if_none_match: str | None, etag: str) -> bool:
    """True when an If-None-Match header names `etag` (weakly compared, as RFC 9110 says)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def cacheable(
    body: bytes,
    *,
    etag: str,
    max_age: int,
    if_none_match: str | None,
    vary: str | None = None,
) -> Response:
    """A JSON answer shared caches may keep `max_age` seconds; 304 when the client has it."""
    if matches(if_none_match, etag):
        response = Response(status_code=304)
    else:
        response = Response(body, media_type=JSON)
    response.raw_headers.extend(cache_headers(etag, max_age, vary))
    return response


@lru_cache(maxsize=256)
def cache_headers(etag: str, max_age: int, vary: str | None) -> tuple[tuple[bytes, bytes], ...]:
    """Encoded once per model version and language: estimates repeat the same few."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if vary:
        headers["Vary"] = vary
    return tuple(_raw(headers))


def uncached(body: bytes, status_code: int = 200) -> Response:
    return Response(
        body, status_code=status_code, media_type=JSON, headers={"Cache-Control": NO_STORE}
    )
