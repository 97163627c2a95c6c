"""All mapped tables; importing this module registers them on :data:`monitor.db.Base`."""

from monitor.models.core import Blob, ChangeRecord, Event, Snapshot, Source, WatchedPage

__all__ = ["Blob", "ChangeRecord", "Event", "Snapshot", "Source", "WatchedPage"]
