"""The console's routes under ``/console``: sign-in, dashboard, hotline board with live updates.

Every page and action authorises with :meth:`AuthenticatedPrincipal.require` and the same role tuples the
mechanism's REST routes use; every POST carries the session's CSRF token (form field or ``X-CSRF-Token``
header, which htmx sends); a signing act takes the person's password in that request, as the REST API does.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sse_starlette.sse import EventSourceResponse

from airrc.console import assets, views
from airrc.console.host import ConsoleHost
from airrc.console.i18n import LANGUAGES, Translator, translator
from airrc.console.sessions import COOKIE, ConsoleSessions, check_csrf, csrf_token
from airrc.errors import AuthError, Error, Forbidden, InputError, NotFound, Throttled, http_status
from airrc.hotline import routes as hotline_routes
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.principals.web import unlock_for_signing
from airrc.routing import served_host
from airrc.statements import format_timestamp

__all__ = ["router"]

LOGIN_COOKIE = "airrc_console_login"
# Auth failures that mean "not signed in": the browser goes to the sign-in page; others are shown.
_SIGN_IN_AGAIN = {"auth.unauthenticated", "auth.invalid_token", "auth.disabled", "console.session_expired"}
EVENT_POLL_SECONDS = 0.2
EVENT_RECHECK_SECONDS = 30.0

HostDep = Annotated[ConsoleHost, Depends(served_host)]


def _timestamp(moment: datetime | None) -> Markup:
    """A UTC time the page script shows in the viewer's zone, with the UTC value kept on hover."""
    if moment is None:
        return Markup("—")
    utc = format_timestamp(moment)
    return Markup('<time datetime="{0}" title="{0} UTC">{0}</time>').format(utc)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.filters["ts"] = _timestamp
    return env


templates = Jinja2Templates(env=_environment())


class _ConsoleRoute(APIRoute):
    """Errors become pages (or, for htmx, fragments), never JSON; not being signed in goes to sign-in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Error as exc:
                return _error_response(request, exc)

        return guarded


router = APIRouter(prefix="/console", route_class=_ConsoleRoute, include_in_schema=False)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as a page sees them."""

    principal: AuthenticatedPrincipal
    token: str
    t: Translator
    node_name: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)

    def may(self, *roles: str) -> bool:
        return bool(self.principal.roles & set(roles))


def _sessions(host: ConsoleHost) -> ConsoleSessions:
    return ConsoleSessions(host.principals, idle=timedelta(minutes=host.settings.console_idle_minutes))


def _wants_fragment(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _error_response(request: Request, exc: Error) -> Response:
    if isinstance(exc, AuthError) and exc.code in _SIGN_IN_AGAIN:
        target = f"/console/login?reason={quote(exc.code)}"
        if _wants_fragment(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        if request.method == "GET" and request.url.path != "/console/events":
            target += f"&next={quote(request.url.path)}"
        return RedirectResponse(target, status_code=303)
    t = translator(request.cookies.get("airrc_console_lang"))
    status = http_status(exc)
    name = "_error.html" if _wants_fragment(request) else "error.html"
    return templates.TemplateResponse(
        request, name, {"_": t.gettext, "t": t, "error": exc, "viewer": None, "page": ""}, status_code=status
    )


def _viewer(request: Request, host: ConsoleHost, *roles: str, touch: bool = True) -> Viewer:
    token = request.cookies.get(COOKIE) or ""
    sessions = _sessions(host)
    with host.store.session() as session:
        principal = sessions.resume(session, token, touch=touch)
        language = sessions.language(session, principal.id)
    if roles:
        principal.require(*roles)
    return Viewer(principal, token, translator(language or _accepted_language(request)), host.name)


def _accepted_language(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")[:200].lower()
    return "zh" if accepted.startswith("zh") else "en"


async def _csrf(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    form = await request.form()
    value = form.get("csrf")
    return value if isinstance(value, str) else None


def _page(request: Request, viewer: Viewer | None, name: str, status: int = 200, **values: Any) -> Response:
    t = viewer.t if viewer is not None else translator(_accepted_language(request))
    response = templates.TemplateResponse(
        request, name, {"_": t.gettext, "t": t, "viewer": viewer, "page": "", **values}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# -- sign-in -------------------------------------------------------------------------------------------------


@router.get("/")
async def index() -> Response:
    return RedirectResponse("/console/dashboard", status_code=303)


@router.get("/login")
async def login_page(request: Request, reason: str | None = None, next: str | None = None) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = _page(
        request, None, "login.html", login_csrf=nonce, reason=reason, next=_safe_next(next), failure=None
    )
    _set_login_cookie(request, response, nonce)
    return response


def _set_login_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=_secure(request), path="/console"
    )


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console/") and not target.startswith("//") and len(target) < 200:
        return target
    return "/console/dashboard"


@router.post("/login")
def login(
    request: Request,
    host: HostDep,
    *,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form(max_length=200)] = "/console/dashboard",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf.encode()):
        raise Forbidden("this form is out of date or was not sent by the console", code="console.csrf")
    address = request.client.host if request.client else None
    try:
        token = host.login(username, password, address=address)
    except (AuthError, Throttled) as exc:
        nonce = secrets.token_urlsafe(24)
        response = _page(
            request,
            None,
            "login.html",
            status=http_status(exc),
            login_csrf=nonce,
            reason=None,
            next=_safe_next(next),
            failure=exc,
        )
        _set_login_cookie(request, response, nonce)
        return response
    with host.store.session() as session:
        _sessions(host).start(session, token)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/console",
        max_age=int(host.settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request, host: HostDep) -> Response:
    viewer = _viewer(request, host, touch=False)
    check_csrf(viewer.token, await _csrf(request))
    with host.store.session() as session:
        _sessions(host).end(session, viewer.token)
    response = RedirectResponse("/console/login?reason=signed_out", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.post("/language")
async def set_language(request: Request, host: HostDep) -> Response:
    viewer = _viewer(request, host)
    check_csrf(viewer.token, await _csrf(request))
    form = await request.form()
    language = form.get("language")
    if language not in LANGUAGES:
        raise InputError("the console speaks en or zh", code="console.bad_language")
    with host.store.session() as session:
        _sessions(host).set_language(session, viewer.principal.id, str(language))
    back = form.get("back")
    response = RedirectResponse(_safe_next(back if isinstance(back, str) else None), status_code=303)
    response.set_cookie(
        "airrc_console_lang", str(language), httponly=True, samesite="strict", path="/console"
    )
    return response


# -- dashboard ---------------------------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard(request: Request, host: HostDep) -> Response:
    viewer = _viewer(request, host)
    watch = viewer.may(*hotline_routes.READERS)
    with host.store.read_session() as session:
        model = views.dashboard(host, session, watch_officer=watch)
        return _page(request, viewer, "dashboard.html", page="dashboard", **model)


# -- hotline -----------------------------------------------------------------------------------------------


@router.get("/hotline")
def hotline_page(request: Request, host: HostDep) -> Response:
    viewer = _viewer(request, host, *hotline_routes.READERS)
    with host.store.read_session() as session:
        model = views.board(host, session)
        return _page(request, viewer, "hotline.html", page="hotline", failure=None, **model)


@router.get("/hotline/board")
def hotline_board(request: Request, host: HostDep) -> Response:
    """The board alone, re-read when a live event says it changed (does not count as use)."""
    viewer = _viewer(
        request, host, *hotline_routes.READERS, touch=request.headers.get("x-console-live") != "1"
    )
    with host.store.read_session() as session:
        model = views.board(host, session)
        return _page(request, viewer, "_board.html", failure=None, **model)


@router.post("/hotline/messages/{message_id}/ack")
async def acknowledge(request: Request, host: HostDep, message_id: str) -> Response:
    """A duty officer's acknowledgement, signed with the key their password unlocks in this request."""
    viewer = _viewer(request, host, *hotline_routes.READERS)
    check_csrf(viewer.token, await _csrf(request))
    form = await request.form()
    password = form.get("password")
    failure: Error | None = None
    if len(message_id) > 64:
        failure = InputError("no such message", code="hotline.unknown_message")
    else:
        try:
            await asyncio.to_thread(
                _acknowledge,
                request,
                host,
                viewer,
                message_id,
                password if isinstance(password, str) else None,
            )
        except Error as exc:
            failure = exc
    with host.store.read_session() as session:
        model = views.board(host, session)
    status = http_status(failure) if failure is not None else 200
    return _page(
        request, viewer, "_board.html", status=status, failure=failure, failed_id=message_id, **model
    )


def _acknowledge(
    request: Request, host: ConsoleHost, viewer: Viewer, message_id: str, password: str | None
) -> None:
    if password is not None and len(password) > 1024:
        raise InputError("a password is at most 1024 characters", code="input.too_long")
    officer = unlock_for_signing(request, host, viewer.principal, password)
    with host.store.session() as session:
        host.hotline.acknowledge(session, officer, message_id)


# -- live events ---------------------------------------------------------------------------------------------


@router.get("/events")
async def events(request: Request, host: HostDep) -> Response:
    """Server-sent events: ``hotline`` when the board changed; ``signed-out`` when the session ended."""
    viewer = await asyncio.to_thread(_viewer, request, host, touch=False)
    watch = viewer.may(*hotline_routes.READERS)

    def stamp() -> tuple[int, ...]:
        with host.store.read_session() as session:
            return host.hotline.change_stamp(session)

    def still_signed_in() -> bool:
        try:
            _viewer(request, host, touch=False)
        except AuthError:
            return False
        return True

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = await asyncio.to_thread(stamp) if watch else ()
        loop = asyncio.get_running_loop()
        recheck = loop.time() + EVENT_RECHECK_SECONDS
        yield {"event": "ready", "data": "{}"}
        while True:
            await asyncio.sleep(EVENT_POLL_SECONDS)
            if loop.time() > recheck:
                recheck = loop.time() + EVENT_RECHECK_SECONDS
                if not await asyncio.to_thread(still_signed_in):
                    yield {"event": "signed-out", "data": "{}"}
                    return
            if not watch:
                continue
            now = await asyncio.to_thread(stamp)
            if now != last:
                last = now
                yield {"event": "hotline", "data": json.dumps({"stamp": list(now)})}

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})


# -- files ---------------------------------------------------------------------------------------------------


@router.get("/static/{name}")
async def static(name: str) -> Response:
    path = assets.STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound("no such console file", code="console.unknown_asset")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


@router.get("/vendor/{name}")
async def vendor(name: str) -> Response:
    return FileResponse(assets.vendor_file(name), headers={"Cache-Control": "max-age=3600"})
