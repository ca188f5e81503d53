"""The web console's files: `/` is its one HTML page, `/ui/…` its scripts, styles and the vendored
noVNC (`static/novnc`, MPL-2.0, from the npm package `@novnc/novnc`: `scripts/vendor-novnc.sh`).

Every file is answered with the console's security headers, written here and nowhere else:
the Content-Security-Policy allows scripts, styles and connections from this origin only (no
inline script, no `eval`), `img-src` adds `data:` for noVNC's cursor, and no other site may frame
the pages. Nothing is served outside `static/`, and only the file types listed.
"""

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

STATIC = Path(__file__).parent / "static"
UI_PATH = "/ui"
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The files change with the release; a revalidation is cheap (the page is small).
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def static_file(relative: str) -> Response:
    """The file at `relative` under `static/`, or a 404 for anything else (`..`, other types)."""
    root = STATIC.resolve()
    path = (root / relative).resolve()
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404)
    return Response(path.read_bytes(), media_type=media_type, headers=HEADERS)


async def console_page() -> Response:
    return static_file("index.html")


async def console_file(path: str) -> Response:
    return static_file(path)


def install(app: FastAPI) -> None:
    """`GET /` (the page) and `GET /ui/{path}` (its files), out of the OpenAPI document. Module
    functions, not closures: an endpoint closing over the app would keep every app alive."""
    app.add_api_route("/", console_page, include_in_schema=False)
    app.add_api_route(UI_PATH + "/{path:path}", console_file, include_in_schema=False)
