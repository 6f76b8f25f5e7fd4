"""Storage: engines, sessions, migrations."""

from airrc.store.db import Base, Store, UTCDateTime, utcnow

__all__ = ["Base", "Store", "UTCDateTime", "utcnow"]
