"""What the API needs from its process: settings, the session factory and the notifier."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nuage.config import Settings
from nuage.db.notify import Notifier


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    notifier: Notifier
