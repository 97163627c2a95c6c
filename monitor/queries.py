"""Read-only queries for the web app: commitments, changes, snapshots, watched pages, events.

Every function opens a read-only session (it never takes SQLite's write lock) and returns
plain dataclasses, so templates and the JSON API never touch ORM objects.
"""

from __future__ import annotations
