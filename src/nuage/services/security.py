"""Secrets: password hashes (argon2), signed tokens (JWT, HS256) and API keys (shown once)."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from nuage.db.types import utcnow
from nuage.domain.errors import AuthenticationFailed

API_KEY_PREFIX = "sk-onetsolutions-"
_LOOKUP_CHARS = 12
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(user_id: UUID, *, kind: str, ttl: timedelta, secret: str) -> tuple[str, datetime]:
    expires = utcnow() + ttl
    claims = {"sub": str(user_id), "typ": kind, "exp": expires, "iat": utcnow()}
    return jwt.encode(claims, secret, algorithm="HS256"), expires


def read_token(token: str, *, kind: str, secret: str) -> UUID:
    """The user id a valid, unexpired token of `kind` names; AuthenticationFailed otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.ExpiredSignatureError as error:
        raise AuthenticationFailed("Token has expired.", code="token_expired") from error
    except jwt.PyJWTError as error:
        raise AuthenticationFailed("Token is invalid.", code="token_invalid") from error
    if claims.get("typ") != kind:
        raise AuthenticationFailed(f"Not an {kind} token.", code="token_invalid")
    try:
        return UUID(str(claims["sub"]))
    except (KeyError, ValueError) as error:
        raise AuthenticationFailed("Token is invalid.", code="token_invalid") from error


def new_api_key() -> tuple[str, str, str]:
    """(key, lookup prefix, hash). The key is high-entropy, so a fast hash is the right one."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, api_key_lookup(key), api_key_hash(key)


def api_key_lookup(key: str) -> str:
    return key[len(API_KEY_PREFIX) : len(API_KEY_PREFIX) + _LOOKUP_CHARS]


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(api_key_hash(key), stored_hash)
