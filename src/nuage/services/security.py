"""Secrets: password hashes (argon2), signed tokens (JWT, HS256) and API keys (shown once).

Tokens name their signing key in the `kid` header (a digest of the key, never the key), so the
key can change without downtime: a process signs with its `secret` and also accepts tokens of
the `accepted` keys (docs/permissions.md, "Rotating the signing key")."""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
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


def key_id(secret: str) -> str:
    """The `kid` of a signing key: a digest that names the key without revealing it."""
    return hashlib.sha256(b"nuage-kid:" + secret.encode()).hexdigest()[:16]


def issue_token(
    user_id: UUID,
    *,
    kind: str,
    ttl: timedelta,
    secret: str,
    extra: dict[str, str] | None = None,
) -> tuple[str, datetime]:
    expires = utcnow() + ttl
    claims = {**(extra or {}), "sub": str(user_id), "typ": kind, "exp": expires, "iat": utcnow()}
    token = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": key_id(secret)})
    return token, expires


def _verifying_key(token: str, keys: Sequence[str]) -> str:
    """The key among `keys` that the token's `kid` names (a token without one: the first)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as error:
        raise AuthenticationFailed("Token is invalid.", code="token_invalid") from error
    if kid is None:
        return keys[0]
    key = next((k for k in keys if k and hmac.compare_digest(key_id(k), str(kid))), None)
    if key is None:
        raise AuthenticationFailed("Token is invalid.", code="token_invalid")
    return key


def read_claims(
    token: str, *, kind: str, secret: str, accepted: Sequence[str] = ()
) -> dict[str, Any]:
    """The claims of a valid, unexpired token of `kind`, signed with `secret` or one of the
    `accepted` keys; AuthenticationFailed otherwise."""
    key = _verifying_key(token, [secret, *accepted])
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.ExpiredSignatureError as error:
        raise AuthenticationFailed("Token has expired.", code="token_expired") from error
    except jwt.PyJWTError as error:
        raise AuthenticationFailed("Token is invalid.", code="token_invalid") from error
    if claims.get("typ") != kind:
        raise AuthenticationFailed(f"Not an {kind} token.", code="token_invalid")
    return claims


def claim_uuid(claims: dict[str, Any], name: str) -> UUID:
    try:
        return UUID(str(claims[name]))
    except (KeyError, ValueError) as error:
        raise AuthenticationFailed("Token is invalid.", code="token_invalid") from error


def read_token(token: str, *, kind: str, secret: str, accepted: Sequence[str] = ()) -> UUID:
    """The user id a valid, unexpired token of `kind` names; AuthenticationFailed otherwise."""
    return claim_uuid(read_claims(token, kind=kind, secret=secret, accepted=accepted), "sub")


def token_hash(token: str) -> str:
    """How a refresh token is stored: it is high-entropy (signed), so a fast hash is right."""
    return hashlib.sha256(token.encode()).hexdigest()


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
