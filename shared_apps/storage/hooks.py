"""Signals the storage layer sends for higher layers to act on, without importing them (they connect in their
AppConfig.ready)."""

from django.dispatch import Signal

# An upload was signed and never confirmed; its reservation expired, its object (if any) is gone. Sent after commit,
# with `prefix` (the workspace's schema name) and `key`. The product deletes the pending document that named it.
upload_abandoned = Signal()
