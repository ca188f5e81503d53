"""The browser's sign-in: the web console's refresh token lives in a cookie the page's scripts
cannot read, and its access token in the page's memory only.

- `POST /v1/auth/session` (email, password) answers the access token and sets the refresh token
  as `nuage_refresh`: `HttpOnly` (no script reads it, so an injected script cannot take a
  long-lived credential), `SameSite=Strict` (no other site's page makes the browser send it),
  `Path=/v1/auth/session` (no other request carries it), `Secure` over https.
- `POST /v1/auth/session/refresh` trades the cookie for a new access token (and a new cookie).
- `DELETE /v1/auth/session` clears the cookie.

The API itself never reads a cookie: its requests carry `Authorization: Bearer` (set by the
page's script), which a cross-site request cannot forge. These three, which do act on a cookie,
also refuse (403 `origin_refused`) a request whose `Origin` is absent or not the API's own:
SameSite is the first guard and the Origin check the second, for browsers or proxies that
get SameSite wrong.
"""

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Request, Response

from nuage.api.deps import RuntimeDep, SessionDep
from nuage.api.routers.auth import limit_attempt, refresh_account, token_policy
from nuage.api.schemas.accounts import LoginIn
from nuage.api.schemas.web import BrowserSessionOut
from nuage.domain.errors import AuthenticationFailed, OriginRefused
from nuage.services import auth

COOKIE = "nuage_refresh"
COOKIE_PATH = "/v1/auth/session"
RefreshCookie = Annotated[
    str | None,
    Cookie(alias=COOKIE, description="The refresh token set by `POST /v1/auth/session`."),
]


def check_origin(request: Request, runtime: RuntimeDep) -> None:
    """The request comes from one of the API's own pages (its origin, or its public URL's)."""
    origin = request.headers.get("origin")
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    if runtime.settings.public_url:
        public = runtime.settings.public_url.split("://", 1)
        own.add(f"{public[0]}://{public[1].split('/', 1)[0]}")
    if origin not in own:
        raise OriginRefused()


# Every endpoint here acts on the cookie: each checks the Origin first.
router = APIRouter(prefix=COOKIE_PATH, tags=["auth"], dependencies=[Depends(check_origin)])


def _answer(
    request: Request, response: Response, pair: auth.TokenPair, runtime: RuntimeDep
) -> BrowserSessionOut:
    response.set_cookie(
        COOKIE,
        pair.refresh,
        max_age=runtime.settings.refresh_token_days * 86400,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return BrowserSessionOut(access=pair.access, access_expires=pair.access_expires)


@router.post("")
async def sign_in(
    body: LoginIn, request: Request, response: Response, session: SessionDep, runtime: RuntimeDep
) -> BrowserSessionOut:
    """Sign in from the web console: the access token, and the refresh token as a cookie."""
    account = body.email.strip().lower()
    await limit_attempt(request, runtime, action="login", account=account)
    pair = await auth.login(session, body.email, body.password, token_policy(runtime))
    return _answer(request, response, pair, runtime)


@router.post("/refresh")
async def refresh_session(
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    refresh: RefreshCookie = None,
) -> BrowserSessionOut:
    """A new access token for the console, from its refresh cookie (which is renewed)."""
    if not refresh:
        raise AuthenticationFailed("Not signed in.", code="not_authenticated")
    account = refresh_account(refresh, runtime.settings.secret_key)
    await limit_attempt(request, runtime, action="refresh", account=account)
    pair = await auth.refresh(session, refresh, token_policy(runtime))
    return _answer(request, response, pair, runtime)


@router.delete("", status_code=204)
async def sign_out() -> Response:
    """Sign out of the console: its refresh cookie is cleared."""
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response
