"""Login and token refresh. Both are naturally idempotent: a replay issues fresh tokens. Both are
limited per account and per source address (`services/attempts.py`)."""

from datetime import timedelta

from fastapi import APIRouter, Request

from nuage.api.deps import RuntimeDep, SessionDep
from nuage.api.rate_limit import source_address
from nuage.api.schemas.accounts import LoginIn, RefreshIn, TokenOut
from nuage.domain.errors import AuthenticationFailed
from nuage.services import auth
from nuage.services.attempts import AttemptPolicy, attempt
from nuage.services.security import read_token

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def token_policy(runtime: RuntimeDep) -> auth.TokenPolicy:
    settings = runtime.settings
    return auth.TokenPolicy(
        secret=settings.secret_key,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
        accepted=settings.accepted_secret_keys,
    )


async def limit_attempt(
    request: Request, runtime: RuntimeDep, *, action: str, account: str
) -> None:
    settings = runtime.settings
    policy = AttemptPolicy.of(
        per_account=settings.auth_attempts_per_account,
        per_address=settings.auth_attempts_per_address,
        window_seconds=settings.auth_attempts_window_seconds,
    )
    await attempt(
        request.app.state.limiter,
        policy,
        action=action,
        account=account,
        address=source_address(request.scope),
    )


def refresh_account(token: str, secret: str) -> str:
    """The user a refresh token names, or the token itself when it names none."""
    try:
        return str(read_token(token, kind="refresh", secret=secret))
    except AuthenticationFailed:
        return token


def _out(pair: auth.TokenPair) -> TokenOut:
    return TokenOut(access=pair.access, refresh=pair.refresh, access_expires=pair.access_expires)


@router.post("/login")
async def login(
    body: LoginIn, session: SessionDep, runtime: RuntimeDep, request: Request
) -> TokenOut:
    await limit_attempt(request, runtime, action="login", account=body.email.strip().lower())
    return _out(await auth.login(session, body.email, body.password, token_policy(runtime)))


@router.post("/refresh")
async def refresh(
    body: RefreshIn, session: SessionDep, runtime: RuntimeDep, request: Request
) -> TokenOut:
    account = refresh_account(body.refresh, runtime.settings.secret_key)
    await limit_attempt(request, runtime, action="refresh", account=account)
    return _out(await auth.refresh(session, body.refresh, token_policy(runtime)))
