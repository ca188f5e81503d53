"""The browser's sign-in answer: the access token only (the refresh token is in a cookie)."""

from datetime import datetime

from pydantic import BaseModel, Field


class BrowserSessionOut(BaseModel):
    access: str = Field(description="The access token; keep it in memory only.")
    access_expires: datetime
    token_type: str = "Bearer"
