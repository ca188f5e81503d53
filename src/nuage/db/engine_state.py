"""State that belongs to one engine (its writers' and readers' turns, SQLite's companion
connections), kept on the engine.

A registry of a module's, even one keyed weakly by engine, kept every engine whose state had come
to hold an event loop: an asyncio lock or semaphore holds its loop once someone has waited on it,
and a loop reaches what ran in it, the engine among it, so each entry held its own key. The test
suite's process kept a whole app and its engines for each SQLite test with a worker that way.
"""

from collections.abc import Callable
from typing import Generic, TypeVar, cast

from sqlalchemy.engine import Engine

T = TypeVar("T")


class EngineState(Generic[T]):
    """One kind of state, one value per engine, gone with the engine."""

    def __init__(self, name: str) -> None:
        self._attribute = f"_nuage_{name}"

    def get(self, engine: Engine) -> T | None:
        return cast(T | None, getattr(engine, self._attribute, None))

    def set(self, engine: Engine, value: T) -> None:
        setattr(engine, self._attribute, value)

    def get_or_make(self, engine: Engine, make: Callable[[], T]) -> T:
        found = self.get(engine)
        if found is None:
            found = make()
            self.set(engine, found)
        return found

    def pop(self, engine: Engine) -> T | None:
        found = self.get(engine)
        if found is not None:
            delattr(engine, self._attribute)
        return found
