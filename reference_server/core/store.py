"""Persistent storage of responses (sqlite3): the response object, its input items and the
conversation it continued, so `previous_response_id` works across restarts; every input and
output item by id, so `item_reference` inputs resolve; and the server's own secrets (the key that
seals `reasoning.encrypted_content`).

One connection guarded by a lock (sqlite calls are short; the app runs them in a worker thread
so the event loop never waits on disk).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    updated_at  REAL NOT NULL,
    response    TEXT NOT NULL,   -- the Response object (JSON)
    input_items TEXT NOT NULL,   -- this request's input items, normalized, with ids (JSON list)
    context     TEXT NOT NULL    -- the conversation items before this request's input (JSON list)
);
CREATE TABLE IF NOT EXISTS items (
    id          TEXT PRIMARY KEY,  -- the item's id (msg_…, fc_…, rs_…)
    response_id TEXT NOT NULL,     -- the response whose input or output it is
    item        TEXT NOT NULL      -- the item (JSON)
);
CREATE INDEX IF NOT EXISTS items_by_response ON items (response_id);
CREATE TABLE IF NOT EXISTS secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredResponse:
    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    context: list[dict[str, Any]]

    def conversation(self) -> list[dict[str, Any]]:
        """Everything a continuation sees: earlier context, this input, this output."""
        return [*self.context, *self.input_items, *(self.response.get("output") or [])]


class ResponseStore:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
            self._index_older_items()

    def _index_older_items(self) -> None:
        """A database written before items were indexed gets its items indexed once."""
        if self._conn.execute("SELECT 1 FROM items LIMIT 1").fetchone() is not None:
            return
        rows = self._conn.execute("SELECT id, response, input_items FROM responses").fetchall()
        for response_id, response, input_items in rows:
            self._save_items(response_id, [*json.loads(input_items), *(json.loads(response).get("output") or [])])

    def save(self, response: dict[str, Any], input_items: list[dict[str, Any]],
             context: list[dict[str, Any]]) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO responses (id, created_at, updated_at, response, input_items, context) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "updated_at=excluded.updated_at, response=excluded.response",
                (response["id"], int(response.get("created_at") or 0), time.time(),
                 json.dumps(response), json.dumps(input_items), json.dumps(context)),
            )
            self._save_items(response["id"], [*input_items, *(response.get("output") or [])])

    def update_response(self, response: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute("UPDATE responses SET response=?, updated_at=? WHERE id=?",
                               (json.dumps(response), time.time(), response["id"]))
            self._save_items(response["id"], response.get("output") or [])

    def _save_items(self, response_id: str, items: list[dict[str, Any]]) -> None:
        # The latest item with an id wins: a client echoing an output item as input sends the same item.
        self._conn.executemany(
            "INSERT OR REPLACE INTO items (id, response_id, item) VALUES (?, ?, ?)",
            [(item["id"], response_id, json.dumps(item)) for item in items if isinstance(item.get("id"), str)],
        )

    def get_item(self, item_id: str) -> dict[str, Any] | None:
        """A stored input or output item by id."""
        with self._lock:
            row = self._conn.execute("SELECT item FROM items WHERE id=?", (item_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def secret(self, name: str, make: Callable[[], str]) -> str:
        """The secret called `name`, created with `make()` the first time it is asked for."""
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, make()))
            return str(self._conn.execute("SELECT value FROM secrets WHERE name=?", (name,)).fetchone()[0])

    def get(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT response, input_items, context FROM responses WHERE id=?", (response_id,)
            ).fetchone()
        if row is None:
            return None
        return StoredResponse(json.loads(row[0]), json.loads(row[1]), json.loads(row[2]))

    def delete(self, response_id: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM responses WHERE id=?", (response_id,))
            self._conn.execute("DELETE FROM items WHERE response_id=?", (response_id,))
        return cur.rowcount > 0

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
