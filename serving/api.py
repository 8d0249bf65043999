"""What each route answers, kept out of the route handlers: checks, lookups and headers."""

from __future__ import annotations

import hmac
import json
from datetime import date

from fastapi import HTTPException, Request
from pydantic import SecretStr
from starlette.responses import Response

from forecasting.schema import DEFAULT_REGION
from forecasting.settings import Settings
from serving import answers
from serving.answers import Prepared
from serving.errors import InputError, Problem, echo, error_response
from serving.holder import ModelHolder, ReloadBusy, ReloadError
from serving.http import NO_STORE, cacheable, uncached
from serving.i18n import LANGUAGES, Lang, pick_language
from serving.schemas import EstimatesRequest

_LANG_EXPECTED = "one of " + ", ".join(LANGUAGES)
_REQUIRED = ("service", "channel", "submitted_on")


def language(query: str | None, accept_language: str | None) -> Lang:
    """`lang` when given (and then it must be supported), else from Accept-Language, else en."""
    if query is not None and query not in LANGUAGES:
        raise InputError([Problem("lang", _LANG_EXPECTED, echo(query))])
    return pick_language(query, accept_language)


def estimate(prepared: Prepared, settings: Settings, request: Request) -> Response:
    """GET /v1/estimate. The query is read here rather than declared as parameters: on this hot
    path FastAPI's per-parameter validation costs more than the whole answer, and the fields are
    checked by `answers` anyway, only when the pre-serialised lookup misses."""
    query = request.query_params
    missing = [Problem(name, "given", "nothing") for name in _REQUIRED if name not in query]
    if missing:
        raise InputError(missing)
    lang = query.get("lang")
    chosen = language(lang, request.headers.get("accept-language"))
    body = answers.estimate_body(
        prepared,
        chosen,
        query["service"],
        query["channel"],
        query.get("region", DEFAULT_REGION),
        query["submitted_on"],
    )
    return cacheable(
        body,
        etag=prepared.etag(chosen),
        max_age=settings.cache_max_age_seconds,
        if_none_match=request.headers.get("if-none-match"),
        # Without `lang` the answer's language comes from the header.
        vary=None if lang else "Accept-Language",
    )


def estimates(
    prepared: Prepared, settings: Settings, payload: EstimatesRequest, accept_language: str | None
) -> Response:
    count = len(payload.requests)
    if count > settings.batch_limit:
        problem = Problem(
            "requests", f"at most {settings.batch_limit:,} items", f"{count:,}", "body"
        )
        return error_response(413, f"{problem.message}: split the batch", [problem])
    chosen = payload.lang or pick_language(None, accept_language)
    items = [item.model_dump() for item in payload.requests]
    return uncached(answers.batch_body(prepared, chosen, items))


def services(prepared: Prepared, settings: Settings, if_none_match: str | None) -> Response:
    return cacheable(
        prepared.services,
        etag=prepared.etag("services"),
        max_age=settings.cache_max_age_seconds,
        if_none_match=if_none_match,
    )


def processing_times(
    prepared: Prepared, settings: Settings, if_none_match: str | None, today: date
) -> Response:
    day = answers.reference_day(prepared.table, today)
    return cacheable(
        answers.processing_times_body(prepared, day),
        etag=prepared.etag(f"times-{day:%Y%m%d}"),
        max_age=settings.cache_max_age_seconds,
        if_none_match=if_none_match,
    )


def readiness(holder: ModelHolder) -> Response:
    """200 while a model is served (saying where from), 503 with the reason otherwise."""
    state = holder.state
    served = state.served
    if served is None:
        body = {"status": "unavailable", "reason": state.reason}
        return uncached(json.dumps(body).encode(), 503)
    table = served.prepared.table
    body = {
        "status": "ready",
        "source": served.source,
        "model_version": table.model_version,
        "model_uri": served.model_uri,
        "as_of": table.as_of.isoformat(),
        "loaded_at": served.loaded_at.isoformat(),
        "reason": state.reason,
    }
    return uncached(json.dumps(body).encode())


def check_admin(settings: Settings, token: str | None) -> None:
    """404 when no admin token is configured (the endpoint does not exist), 401 on a bad one."""
    check_bearer(settings.admin_token, token, realm="admin")


def check_bearer(expected: SecretStr | None, token: str | None, *, realm: str) -> None:
    """404 when `expected` is not configured (the routes of `realm` are off, not open), 401 when
    `token` is missing or wrong."""
    if expected is None:
        raise HTTPException(404, f"Not Found: {realm} access is not configured on this server")
    if not token_matches(expected, token):
        raise HTTPException(
            401, "a valid bearer token is required", {"WWW-Authenticate": f'Bearer realm="{realm}"'}
        )


def token_matches(expected: SecretStr, token: str | None) -> bool:
    """Constant-time: how much of the token matched must not show in the response time."""
    return token is not None and hmac.compare_digest(
        token.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    )


def reload(holder: ModelHolder, *, force: bool) -> Response:
    try:
        result = holder.reload(force=force)
    except ReloadBusy as exc:
        return error_response(409, str(exc))
    except ReloadError as exc:
        return error_response(502, f"the model was not reloaded, the previous one serves on: {exc}")
    body = {
        "outcome": result.outcome,
        "model_version": result.model_version,
        "previous_version": result.previous_version,
        "seconds": round(result.seconds, 3),
    }
    return Response(
        json.dumps(body).encode(),
        media_type="application/json",
        headers={"Cache-Control": NO_STORE},
    )
