"""Alembic environment: runs the migrations on the connection `nuage.db.migrate` hands it."""

from alembic import context
from sqlalchemy.engine import Connection

from nuage.db.models import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `nuage db upgrade`, which provides the connection")
run_on(connection)
