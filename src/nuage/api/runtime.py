"""What the API needs from its process: settings, the session factory and the notifier."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nuage.api.event_views import ApiViews
from nuage.config import Settings
from nuage.db.notify import Notifier
from nuage.db.outbox import install_views
from nuage.domain.drivers import HostCheck


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    notifier: Notifier
    # Tries a host before it is registered (`drivers.registry.check_host`, given by the CLI
    # that builds the process); None registers without trying.
    host_check: HostCheck | None = None
    # Single-statement reads (`db.session.make_reader`), made and disposed beside the engine by
    # whoever makes the engine; None: no fast read (`api/fast_reads.py`), every GET is routed.
    reader: AsyncEngine | None = None

    def __post_init__(self) -> None:
        # Events show tasks and instances as this API does, whoever commits the change: the API
        # or a worker sharing these sessions.
        install_views(self.sessions, ApiViews())
