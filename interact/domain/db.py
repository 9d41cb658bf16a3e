"""The database handle: Flask-SQLAlchemy, created unbound and bound to the app in `create_app`."""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the project's naming convention."""

    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def upsert_insert(session):
    """The INSERT construct of `session`'s database that has `on_conflict_do_update` (PostgreSQL's
    or SQLite's, which spell it alike): for atomic counters and keyed rows."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
