"""The interactive API documentation, `/docs` (Swagger UI) and `/redoc` (ReDoc), with every script,
style sheet and icon served by the app itself: a control plane usually runs where no CDN can be
reached, and FastAPI's default pages are blank there.

The assets come from the `fastapi-offline` package (installed from PyPI with the rest of the
locked dependencies); only its files are used, not its application class.
"""

from importlib.resources import files

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

from nuage.api.openapi import OPENAPI_PATH

ASSETS_PATH = "/docs/assets"
# name → media type; nothing else is served from the package.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
_STATIC = files("fastapi_offline") / "static"
_CACHE = "public, max-age=86400"


OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def install(app: FastAPI) -> None:
    """Serve `/docs`, its OAuth2 redirect, `/redoc` and their assets. The app is created with
    FastAPI's own pages turned off (`docs_url=None, redoc_url=None`). The endpoints are module
    functions, not closures over the app (see `openapi.install` for why)."""
    app.add_api_route("/docs", _swagger_ui, include_in_schema=False)
    app.add_api_route(OAUTH2_REDIRECT, _swagger_ui_redirect, include_in_schema=False)
    app.add_api_route("/redoc", _redoc, include_in_schema=False)
    app.add_api_route(ASSETS_PATH + "/{name}", _docs_asset, include_in_schema=False)


def _asset(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}{ASSETS_PATH}/{name}"


async def _swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=root + OPENAPI_PATH,
        title=f"{request.app.title} — API documentation",
        swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
        swagger_css_url=_asset(request, "swagger-ui.css"),
        swagger_favicon_url=_asset(request, "favicon.png"),
        oauth2_redirect_url=root + OAUTH2_REDIRECT,
    )


async def _swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


async def _redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.scope.get("root_path", "") + OPENAPI_PATH,
        title=f"{request.app.title} — API reference",
        redoc_js_url=_asset(request, "redoc.standalone.js"),
        redoc_favicon_url=_asset(request, "favicon.png"),
        with_google_fonts=False,
    )


async def _docs_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404)
    content = (_STATIC / name).read_bytes()
    return Response(content, media_type=media_type, headers={"Cache-Control": _CACHE})
