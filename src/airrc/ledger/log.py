"""The node's own append-only log, stored as tiles of hashes so every proof is O(log n) reads.

Every level of the tree is kept in tiles of 256 consecutive node hashes (``level`` 0 holds leaf hashes, level
-1 the raw 32-byte entries), and a tile holds only hashes of complete subtrees. Appends are serialised
(SQLite: the single writer; PostgreSQL: a transaction-scoped advisory lock) and write entries, tiles and the
tree state in the caller's transaction.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from airrc.crypto.keys import NodeIdentity
from airrc.errors import InputError, LedgerError
from airrc.ledger.checkpoint import Checkpoint, SignedNote, parse_checkpoint_text, parse_note, sign_checkpoint
from airrc.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    NodeSource,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    subtree_hash,
)
from airrc.ledger.tables import LedgerCheckpoint, LedgerCosignature, LedgerState, LedgerTile
from airrc.store.db import utcnow

__all__ = [
    "ENTRY_LEVEL",
    "TILE_WIDTH",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerState",
    "LedgerTile",
    "LogState",
    "TransparencyLog",
]

TILE_WIDTH = 256
ENTRY_LEVEL = -1
ADVISORY_LOCK_KEY = 0x61697272_6C6F6721 & 0x7FFFFFFFFFFFFFFF  # "airrlog!"
MAX_APPEND = 1_000_000
APPENDED = "airrc.ledger.appended"  # session flag: tiles read after an append in it are not cached


@dataclass(frozen=True)
class LogState:
    size: int
    root: bytes


class _TileCache:
    """Stored hashes never change once written (the log is append-only), so tiles, full or partial, can be
    kept in memory between requests; a partial tile is valid for the nodes it holds."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._tiles: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> bytes | None:
        with self._lock:
            data = self._tiles.get(key)
            if data is not None:
                self._tiles.move_to_end(key)
            return data

    def put(self, key: tuple[int, int], data: bytes) -> None:
        with self._lock:
            current = self._tiles.get(key)
            if current is not None and len(current) >= len(data):
                return
            self._tiles[key] = data
            while len(self._tiles) > self.capacity:
                self._tiles.popitem(last=False)


class _Recorder:
    """A node source that only records which hashes a computation needs."""

    def __init__(self) -> None:
        self.needed: set[tuple[int, int]] = set()

    def node(self, level: int, index: int) -> bytes:
        self.needed.add((level, index))
        return b"\x00" * HASH_SIZE


class _Tiles:
    """Tiles read from (and, for appends, written to) storage within one transaction."""

    def __init__(self, session: Session, cache: _TileCache | None) -> None:
        self.session = session
        self.cache = cache
        self.tiles: dict[tuple[int, int], bytearray] = {}
        self.stored: set[tuple[int, int]] = set()
        self.dirty: set[tuple[int, int]] = set()
        # Per level, the last tile that may exist in storage; later ones are known to be new.
        self.right_edge: dict[int, int] = {}

    def prefetch_nodes(self, nodes: set[tuple[int, int]]) -> None:
        """Make sure the tiles holding these (level, index) nodes are loaded, from the cache if it has them."""
        missing: set[tuple[int, int]] = set()
        for level, index in nodes:
            key = (level, index // TILE_WIDTH)
            needed = (index % TILE_WIDTH + 1) * HASH_SIZE
            if key in self.tiles and len(self.tiles[key]) >= needed:
                continue
            cached = self.cache.get(key) if self.cache is not None else None
            if cached is not None and len(cached) >= needed:
                self.tiles[key] = bytearray(cached)
                self.stored.add(key)
            else:
                missing.add(key)
        self.prefetch(missing)

    def prefetch(self, keys: set[tuple[int, int]]) -> None:
        """Load these tiles from storage in as few queries as possible."""
        wanted = sorted(keys)
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            # OR of primary-key equalities: both SQLite and PostgreSQL answer it from the primary key index.
            # Sent straight to the driver: building a bound SQL expression per proof costs more than the query.
            connection = self.session.connection()
            mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
            where = " OR ".join([f"(level = {mark} AND tile = {mark})"] * len(chunk))
            params = tuple(value for key in chunk for value in key)
            rows = connection.exec_driver_sql(
                f"SELECT level, tile, data FROM ledger_tiles WHERE {where}",  # noqa: S608 - only bound parameters
                params,
            )
            cacheable = self.cache is not None and not self.session.info.get(APPENDED)
            for level, tile, data in rows:
                self.tiles[(level, tile)] = bytearray(data)
                self.stored.add((level, tile))
                if cacheable and self.cache is not None:
                    self.cache.put((level, tile), bytes(data))

    def _tile(self, key: tuple[int, int]) -> bytearray:
        edge = self.right_edge.get(key[0])
        if key not in self.tiles and (edge is None or key[1] <= edge):
            self.prefetch({key})
        return self.tiles.setdefault(key, bytearray())

    def node(self, level: int, index: int) -> bytes:
        tile = self._tile((level, index // TILE_WIDTH))
        offset = (index % TILE_WIDTH) * HASH_SIZE
        value = bytes(tile[offset : offset + HASH_SIZE])
        if len(value) != HASH_SIZE:
            raise LedgerError(f"log storage lacks node ({level}, {index})", code="ledger.storage_corrupt")
        return value

    def extend(self, level: int, start: int, hashes: Sequence[bytes]) -> None:
        """Write ``hashes`` as nodes ``start``.. of ``level``; the first must follow what is stored."""
        position = 0
        index = start
        while position < len(hashes):
            key = (level, index // TILE_WIDTH)
            tile = self._tile(key)
            offset = index % TILE_WIDTH
            if len(tile) != offset * HASH_SIZE:
                raise LedgerError(
                    f"log tile {key} has {len(tile) // HASH_SIZE} hashes, expected {offset}",
                    code="ledger.storage_corrupt",
                )
            take = min(TILE_WIDTH - offset, len(hashes) - position)
            tile.extend(b"".join(hashes[position : position + take]))
            self.dirty.add(key)
            position += take
            index += take

    def flush(self) -> None:
        """Write the changed tiles straight through the driver (an append touches a handful per level)."""
        connection = self.session.connection()
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        new = [
            (lv, t, bytes(self.tiles[(lv, t)])) for lv, t in sorted(self.dirty) if (lv, t) not in self.stored
        ]
        old = [(bytes(self.tiles[(lv, t)]), lv, t) for lv, t in sorted(self.dirty) if (lv, t) in self.stored]
        if new:
            connection.exec_driver_sql(
                _marks("INSERT INTO ledger_tiles (level, tile, data) VALUES (?, ?, ?)", mark), new
            )
        if old:
            connection.exec_driver_sql(
                _marks("UPDATE ledger_tiles SET data = ? WHERE level = ? AND tile = ?", mark), old
            )
        self.stored.update(self.dirty)
        self.dirty.clear()


def _marks(sql: str, mark: str) -> str:
    """Constant SQL with ``?`` parameter marks, in the driver's paramstyle (psycopg wants ``%s``)."""
    return sql if mark == "?" else sql.replace("?", mark)


def _has_state(session: Session) -> bool:
    return session.execute(text("SELECT 1 FROM ledger_state WHERE id = 1")).first() is not None


class TransparencyLog:
    """This node's log: append entries, answer proofs, sign checkpoints."""

    def __init__(self, origin: str, identity: NodeIdentity) -> None:
        self.origin = origin
        self.identity = identity
        self._cache = _TileCache()

    # -- state -------------------------------------------------------------------------------------------

    def state(self, session: Session, *, lock: bool = False) -> LogState:
        if lock and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        row = session.execute(text("SELECT size, root FROM ledger_state WHERE id = 1")).first()
        if row is None:
            return LogState(0, EMPTY_ROOT)
        return LogState(int(row[0]), bytes(row[1]))

    # -- append ------------------------------------------------------------------------------------------

    def append(self, session: Session, entries: Sequence[bytes]) -> int:
        """Append 32-byte entries in ``session``'s transaction; returns the index of the first one."""
        if not entries:
            raise InputError("nothing to append", code="ledger.empty_append")
        if len(entries) > MAX_APPEND:
            raise InputError(f"at most {MAX_APPEND} entries per append", code="ledger.append_too_large")
        if any(len(e) != HASH_SIZE for e in entries):
            raise InputError("log entries are 32-byte digests", code="ledger.bad_entry")
        state = self.state(session, lock=True)
        session.info[APPENDED] = True
        size = state.size
        tiles = _Tiles(session, None)
        # Everything the append reads: the right-edge tiles of every level; tiles beyond them are new.
        edges = {
            lv: (size >> max(lv, 0)) // TILE_WIDTH for lv in range(-1, (size + len(entries)).bit_length() + 1)
        }
        tiles.prefetch({(lv, t) for lv, t in edges.items() if lv <= size.bit_length()})
        tiles.right_edge = edges
        tiles.extend(ENTRY_LEVEL, size, entries)
        current = [leaf_hash(e) for e in entries]
        tiles.extend(0, size, current)
        lo, hi, level = size, size + len(entries), 0
        while True:
            plo, phi = lo >> 1, hi >> 1
            if plo >= phi:
                break
            parents = []
            for p in range(plo, phi):
                left_index = 2 * p
                left = current[left_index - lo] if left_index >= lo else tiles.node(level, left_index)
                parents.append(node_hash(left, current[left_index + 1 - lo]))
            tiles.extend(level + 1, plo, parents)
            current, lo, hi, level = parents, plo, phi, level + 1
        new_size = size + len(entries)
        new_root = subtree_hash(tiles, 0, new_size)
        tiles.flush()
        connection = session.connection()
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        values = (new_size, new_root, utcnow())
        if size == 0 and state.root == EMPTY_ROOT and not _has_state(session):
            create = "INSERT INTO ledger_state (id, size, root, updated_at) VALUES (1, ?, ?, ?)"
            connection.exec_driver_sql(_marks(create, mark), values)
        else:
            change = "UPDATE ledger_state SET size = ?, root = ?, updated_at = ? WHERE id = 1"
            connection.exec_driver_sql(_marks(change, mark), values)
        return size

    # -- reads and proofs --------------------------------------------------------------------------------

    def _source(
        self, session: Session, compute: Callable[[NodeSource], object], *, cached: bool = True
    ) -> _Tiles:
        recorder = _Recorder()
        compute(recorder)
        tiles = _Tiles(session, self._cache if cached else None)
        tiles.prefetch_nodes(recorder.needed)
        return tiles

    def _check_size(self, session: Session, size: int) -> None:
        current = self.state(session).size
        if not 0 < size <= current:
            raise LedgerError(f"tree size {size} is outside 1..{current}", code="ledger.bad_size")

    def root_at(self, session: Session, size: int, *, cached: bool = True) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        self._check_size(session, size)
        tiles = self._source(session, lambda s: subtree_hash(s, 0, size), cached=cached)
        return subtree_hash(tiles, 0, size)

    def inclusion_proof(self, session: Session, index: int, size: int) -> list[bytes]:
        self._check_size(session, size)
        if not 0 <= index < size:
            raise LedgerError(f"index {index} is outside a tree of size {size}", code="ledger.bad_index")
        tiles = self._source(session, lambda s: inclusion_path(s, index, size))
        return inclusion_path(tiles, index, size)

    def consistency_proof(self, session: Session, old_size: int, size: int) -> list[bytes]:
        self._check_size(session, size)
        if not 0 <= old_size <= size:
            raise LedgerError(f"old size {old_size} is outside 0..{size}", code="ledger.bad_size")
        tiles = self._source(session, lambda s: consistency_path(s, old_size, size))
        return consistency_path(tiles, old_size, size)

    def entries(self, session: Session, start: int, end: int) -> list[bytes]:
        size = self.state(session).size
        end = min(end, size)
        if not 0 <= start < end:
            raise LedgerError(f"range starts at {start}, outside 0..{size - 1}", code="ledger.bad_range")
        tiles = _Tiles(session, self._cache)
        # For each tile, the last node wanted from it: a shorter cached copy of a tile is then refreshed.
        tiles.prefetch_nodes(
            {
                (ENTRY_LEVEL, min(end - 1, (t + 1) * TILE_WIDTH - 1))
                for t in range(start // TILE_WIDTH, (end - 1) // TILE_WIDTH + 1)
            }
        )
        return [tiles.node(ENTRY_LEVEL, i) for i in range(start, end)]

    def iter_tiles(self, session: Session, level: int, *, batch: int = 64) -> Iterator[tuple[int, bytes]]:
        """Stored tiles of one level in order, straight from storage (no cache): for ``ledger verify``."""
        last = -1
        while True:
            rows = list(
                session.execute(
                    select(LedgerTile.tile, LedgerTile.data)
                    .where(LedgerTile.level == level, LedgerTile.tile > last)
                    .order_by(LedgerTile.tile)
                    .limit(batch)
                )
            )
            if not rows:
                return
            for tile, data in rows:
                yield int(tile), bytes(data)
                last = int(tile)

    # -- checkpoints -------------------------------------------------------------------------------------

    def checkpoint(self, session: Session) -> SignedNote:
        """Sign a checkpoint of the current tree unless the latest one already covers it."""
        state = self.state(session)
        latest = session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))
        if latest is not None and latest.size == state.size:
            return parse_note(latest.note)
        note = sign_checkpoint(Checkpoint(self.origin, state.size, state.root), self.identity)
        session.add(
            LedgerCheckpoint(size=state.size, root=state.root, note=note.serialise(), signed_at=utcnow())
        )
        session.flush()
        return note

    def latest_checkpoint(self, session: Session) -> LedgerCheckpoint | None:
        return session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))

    def cosignatures(self, session: Session, size: int) -> list[LedgerCosignature]:
        return list(
            session.scalars(
                select(LedgerCosignature)
                .where(LedgerCosignature.size == size)
                .order_by(LedgerCosignature.witness_id)
            )
        )

    def latest_cosignatures(self, session: Session) -> dict[str, LedgerCosignature]:
        """Each witness's cosignature over the largest of our checkpoints it cosigned, by witness id."""
        newest = (
            select(LedgerCosignature.witness_id, func.max(LedgerCosignature.size).label("size"))
            .group_by(LedgerCosignature.witness_id)
            .subquery()
        )
        rows = session.scalars(
            select(LedgerCosignature).join(
                newest,
                (LedgerCosignature.witness_id == newest.c.witness_id)
                & (LedgerCosignature.size == newest.c.size),
            )
        )
        return {row.witness_id: row for row in rows}

    def add_cosignature(
        self, session: Session, size: int, witness_id: str, timestamp: int, line: str
    ) -> None:
        existing = session.get(LedgerCosignature, (size, witness_id))
        if existing is None:
            session.add(
                LedgerCosignature(
                    size=size, witness_id=witness_id, timestamp=timestamp, line=line, received_at=utcnow()
                )
            )
        elif timestamp > existing.timestamp:
            existing.timestamp, existing.line, existing.received_at = timestamp, line, utcnow()

    def witnessed_note(self, session: Session, *, covering: int) -> str:
        """The largest checkpoint covering leaf ``covering`` that a peer has cosigned, with every cosignature
        it has, as one signed note; ``ledger.not_cosigned`` when no peer has cosigned one yet."""
        size = session.scalar(
            select(func.max(LedgerCosignature.size)).where(LedgerCosignature.size > covering)
        )
        row = session.get(LedgerCheckpoint, size) if size is not None else None
        if row is None:
            raise LedgerError(
                f"no peer has cosigned a checkpoint covering leaf {covering}; run `airrc ledger publish`",
                code="ledger.not_cosigned",
            )
        return parse_note(row.note).serialise() + "".join(
            c.line for c in self.cosignatures(session, row.size)
        )

    def served_checkpoint(self, session: Session) -> str:
        """A checkpoint of the whole tree with every cosignature peers returned for it, as one signed note."""
        # Signed afresh when the tree has grown (at most one signature per new entry), so a peer that
        # witnesses us, or exports a transcript, sees a checkpoint covering what we just issued.
        note = self.checkpoint(session)
        size = parse_checkpoint_text(note.text).size
        lines = "".join(c.line for c in self.cosignatures(session, size))
        return note.serialise() + lines
