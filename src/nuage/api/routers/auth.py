"""Login and token refresh. Both are naturally idempotent: a replay issues fresh tokens."""

from datetime import timedelta

from fastapi import APIRouter

from nuage.api.deps import RuntimeDep, SessionDep
from nuage.api.schemas.accounts import LoginIn, RefreshIn, TokenOut
from nuage.services import auth

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def token_policy(runtime: RuntimeDep) -> auth.TokenPolicy:
    settings = runtime.settings
    return auth.TokenPolicy(
        secret=settings.secret_key,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )


def _out(pair: auth.TokenPair) -> TokenOut:
    return TokenOut(access=pair.access, refresh=pair.refresh, access_expires=pair.access_expires)


@router.post("/login")
async def login(body: LoginIn, session: SessionDep, runtime: RuntimeDep) -> TokenOut:
    return _out(await auth.login(session, body.email, body.password, token_policy(runtime)))


@router.post("/refresh")
async def refresh(body: RefreshIn, session: SessionDep, runtime: RuntimeDep) -> TokenOut:
    return _out(await auth.refresh(session, body.refresh, token_policy(runtime)))
