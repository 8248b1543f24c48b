"""Where activation records are kept: one SQLite file per project in the data folder,
written by a thread of its own, bounded to the newest N records or M MB, whichever is less.

The event loop only puts what it captured on a queue (`add`): building a record, masking its
secrets and writing it happen in the writer thread, committed in small batches (SQLite's
write-ahead log: a crash of the server loses at most what was not yet written, the
activations in flight). Readers (the REST API, the CLI, another process) open a connection
of their own; the write-ahead log lets them read while it writes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..paths import data_root, project_key
from .record import Captured

log = logging.getLogger("streamwhisk.activations")

KEEP = 10_000
KEEP_MB = 200
BATCH = 1000  # records written in one transaction, at most
GATHER_S = 0.05  # how long the writer lets records gather before it writes them
# Records waiting to be written, at most: past it (a load the writer cannot keep up with),
# new ones are dropped and counted, so memory and the event loop never pay for the journal.
MAX_PENDING = 5_000
SLACK = 1.1  # the journal may outgrow its bounds by this much before it is pruned to them
BRIEF = ("activationId", "namespace", "name", "version", "subject", "publish", "start", "end",
         "duration", "annotations")
SCHEMA = """
CREATE TABLE IF NOT EXISTS activations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    path TEXT NOT NULL,  -- package/action
    name TEXT NOT NULL,  -- action
    start INTEGER NOT NULL,
    size INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS by_path ON activations (path, seq);
CREATE INDEX IF NOT EXISTS by_name ON activations (name, seq);
"""


def journal_file(project: Path) -> Path:
    """A project's activations, outside the project: the data folder's activations/."""
    return data_root() / "activations" / f"{project_key(project)}.sqlite3"


@dataclass(frozen=True)
class Bounds:
    keep: int = KEEP  # records; 0 records nothing
    keep_mb: int = KEEP_MB


class Journal:
    """Writes records in its thread; reads them in the caller's."""

    def __init__(self, path: Path, bounds: Bounds | None = None,
                 mask: Callable[[str], str] = str) -> None:
        self.path = path
        self.bounds = bounds or Bounds()
        self.mask = mask  # what masks secrets in a record (the server's redactor)
        self._queue: queue.SimpleQueue[Captured | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0  # added and not yet written (the GIL keeps the count whole enough)
        self.dropped = 0

    @property
    def recording(self) -> bool:
        return self.bounds.keep > 0

    def start(self) -> None:
        """Open the journal and start its writer (`add` does it too, on first use)."""
        if self._thread is None and self.recording:
            opened = threading.Event()
            self._thread = threading.Thread(target=self._write, args=(opened,),
                                            name="activations", daemon=True)
            self._thread.start()
            opened.wait(10)

    def add(self, captured: Captured) -> None:
        """From the event loop: never blocks (but the first time, when `start` was not
        called)."""
        if self._thread is None:
            self.start()
        if self._pending >= MAX_PENDING:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("activations arrive faster than their records can be written: "
                            "%d not kept so far", self.dropped)
            return
        self._pending += 1
        self._queue.put(captured)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None

    # --- reading, from any thread or process ------------------------------------------
    def recent(self, name: str | None = None, limit: int = 30, skip: int = 0,
             since: int | None = None, upto: int | None = None,
             docs: bool = False) -> list[dict[str, Any]]:
        """Newest first, as OpenWhisk lists them; `name` is an action or `pkg/action`."""
        where: list[str] = ["1"]
        args: list[object] = []
        if name:
            where.append("path = ?" if "/" in name else "name = ?")
            args.append(name.strip("/"))
        if since is not None:
            where.append("start >= ?")
            args.append(since)
        if upto is not None:
            where.append("start <= ?")
            args.append(upto)
        sql = (f"SELECT record FROM activations WHERE {' AND '.join(where)} "
               "ORDER BY seq DESC LIMIT ? OFFSET ?")
        with self._reading() as db:
            rows = db.execute(sql, (*args, limit, skip)).fetchall()
        records = [json.loads(row[0]) for row in rows]
        return records if docs else [_brief(r) for r in records]

    def get(self, activation_id: str) -> dict[str, Any] | None:
        with self._reading() as db:
            row = db.execute("SELECT record FROM activations WHERE id = ?",
                             (activation_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def ids_after(self, seq: int, name: str | None = None) -> list[tuple[int, str]]:
        """(seq, id) of the records written after `seq`, oldest first: what `poll` follows."""
        sql = "SELECT seq, id FROM activations WHERE seq > ?"
        args: list[object] = [seq]
        if name:
            sql += " AND " + ("path = ?" if "/" in name else "name = ?")
            args.append(name.strip("/"))
        with self._reading() as db:
            return [(int(s), str(i)) for s, i in db.execute(sql + " ORDER BY seq", args)]

    def newest_seq(self) -> int:
        with self._reading() as db:
            row = db.execute("SELECT MAX(seq) FROM activations").fetchone()
        return int(row[0] or 0)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if not self.path.is_file():
            db = sqlite3.connect(":memory:")
            db.executescript(SCHEMA)
        else:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            yield db
        finally:
            db.close()

    # --- writing, in the journal's thread ---------------------------------------------
    def _write(self, opened: threading.Event) -> None:
        try:
            db = self._open()
        except (sqlite3.Error, OSError) as exc:
            log.error("activations are not kept: %s cannot be opened (%s)", self.path, exc)
            opened.set()
            self._drain_forever()
            return
        opened.set()
        kept = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM activations"
                          ).fetchone()
        while True:
            batch = self._gathered()
            captured = [item for item in batch if item is not None]
            self._pending -= len(captured)  # taken off the queue, written or not
            try:
                count, size = self._insert(db, captured)
                kept = (kept[0] + count, kept[1] + size)
                if (kept[0] > self.bounds.keep * SLACK
                        or kept[1] > self.bounds.keep_mb * 1024 * 1024 * SLACK):
                    kept = self._prune(db)
            except sqlite3.Error as exc:
                log.error("activation records could not be written to %s: %s", self.path, exc)
            if None in batch:
                db.close()
                return

    def _gathered(self) -> list[Captured | None]:
        """The next batch: what comes within GATHER_S of the first record, so one write and
        one wake-up serve them all (a write per activation cost the event loop 0.2 ms)."""
        batch = [self._queue.get()]
        if batch[0] is not None:
            time.sleep(GATHER_S)
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _drain_forever(self) -> None:
        """With no journal, what is added is dropped (None ends it)."""
        while self._queue.get() is not None:
            pass

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.touch(mode=0o600)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        return db

    def _insert(self, db: sqlite3.Connection, batch: list[Captured]) -> tuple[int, int]:
        """Write them; how many, and their size."""
        rows = []
        for captured in batch:
            time.sleep(0)  # let the event loop's thread take the GIL between two records
            try:
                text = captured.record_text(self.mask)
            except Exception:  # a record that cannot be made must not stop the others
                log.exception("the record of activation %s could not be made",
                              captured.activation_id)
                continue
            spec = captured.spec
            rows.append((captured.activation_id, spec.qualified, spec.name,
                         captured.start_ms(), len(text), text))
        if rows:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO activations (id, path, name, start, size, "
                           "record) VALUES (?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        return len(rows), sum(row[4] for row in rows)

    def _prune(self, db: sqlite3.Connection) -> tuple[int, int]:
        """The newest `keep` records, and no more than `keep_mb` MB of them; what is kept.
        In SQL alone: the cut is found by the index (and a window sum), not in Python."""
        db.execute("DELETE FROM activations WHERE seq <= (SELECT seq FROM activations "
                   "ORDER BY seq DESC LIMIT 1 OFFSET ?)", (self.bounds.keep,))
        db.execute("DELETE FROM activations WHERE seq <= (SELECT seq FROM (SELECT seq, "
                   "SUM(size) OVER (ORDER BY seq DESC) AS total FROM activations) "
                   "WHERE total > ? ORDER BY seq DESC LIMIT 1)",
                   (self.bounds.keep_mb * 1024 * 1024,))
        count, size = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM activations"
                                 ).fetchone()
        return int(count), int(size)


def _brief(record: dict[str, Any]) -> dict[str, Any]:
    """A listed activation, as OpenWhisk lists one without `docs`: no result, no logs."""
    brief = {key: record[key] for key in BRIEF if key in record}
    brief["statusCode"] = record["response"]["statusCode"]
    return brief
