"""The Alembic migrations build exactly the tables the code declares (every ``tables.py``), on both engines."""

import importlib
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import airrc
from airrc.store.db import Base, Store

PACKAGE = Path(airrc.__file__).parent
# Tables declared outside a mechanism's tables.py: the substrate's own modules.
SUBSTRATE_TABLES = ("airrc.store.statements", "airrc.trust.peers", "airrc.alerts")


def _declared_tables() -> set[str]:
    modules = [
        "airrc." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in PACKAGE.glob("*/*tables.py")
    ]
    for name in [*modules, *SUBSTRATE_TABLES]:
        importlib.import_module(name)
    return set(Base.metadata.tables)


def test_migrations_match_the_declared_tables(database_url):
    declared = _declared_tables()
    assert {"hotline_messages", "federation_outbox", "principals", "ledger_tiles"} <= declared
    store = Store(database_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            drift = compare_metadata(context, Base.metadata)
    finally:
        store.dispose()
    assert drift == []
