"""Liveness and readiness."""

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from nuage.api.deps import RuntimeDep
from nuage.db.errors import is_unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answers while the process lives."""
    return {"status": "ok"}


@router.get("/readyz", response_model=dict[str, str])
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Answers 200 when the database is reachable, 503 otherwise."""
    try:
        async with runtime.sessions() as session:
            await session.execute(sa.text("SELECT 1"))
    except Exception as error:
        if not is_unavailable(error):
            raise
        body = {
            "status": "unavailable",
            "detail": "The database is unreachable.",
            "code": "database_unavailable",
        }
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok"})
