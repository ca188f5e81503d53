"""Facts published once their transaction commits (`domain/observers.py`): a task's status move
is told to logs and metrics only if it happened; a rolled-back transaction tells nothing."""

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from nuage.domain import observers

_FACTS = "nuage.observed"


def publish_after_commit(session: AsyncSession | Session, fact: observers.Fact) -> None:
    session.info.setdefault(_FACTS, []).append(fact)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for fact in session.info.pop(_FACTS, ()):
        observers.publish(fact)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_FACTS, None)
