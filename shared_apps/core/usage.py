"""Where usage figures that other apps own are read from: file storage and API calls, per workspace.

The operators' metrics (`shared_apps.workspaces.metrics`) need both, but neither is built here: file storage and the
public API are their own apps. Each registers one function from its AppConfig.ready (`storage_source_set`,
`api_calls_source_set`); this module, the bottom layer, imports none of them. Until an app has registered, its figure
is **unknown** (None), and pages say so ("not reported yet") instead of showing a made-up 0.

Both functions work in bulk, for every workspace at once: the refresh asks once per run, never once per workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

# tenant ids → bytes of files the workspace stores (workspaces it does not list store none).
StorageSource = Callable[[Sequence[int]], Mapping[int, int]]
# tenant ids, [since, until) → API calls each workspace made in that window (workspaces it does not list made none).
ApiCallsSource = Callable[[Sequence[int], datetime, datetime], Mapping[int, int]]

_storage: list[StorageSource] = []
_api_calls: list[ApiCallsSource] = []


def storage_source_set(source: StorageSource | None) -> None:
    """Register the function that reports stored bytes per workspace (None: unknown again)."""
    _storage.clear()
    if source is not None:
        _storage.append(source)


def api_calls_source_set(source: ApiCallsSource | None) -> None:
    """Register the function that reports API calls per workspace over a window (None: unknown again)."""
    _api_calls.clear()
    if source is not None:
        _api_calls.append(source)


def storage_bytes(tenant_ids: Sequence[int]) -> dict[int, int] | None:
    """Bytes of files stored by each of `tenant_ids`, or None while no storage app reports them."""
    if not _storage:
        return None
    reported = _storage[0](tenant_ids)
    return {tenant_id: int(reported.get(tenant_id, 0)) for tenant_id in tenant_ids}


def api_calls(tenant_ids: Sequence[int], since: datetime, until: datetime) -> dict[int, int] | None:
    """API calls each of `tenant_ids` made in [since, until), or None while no API app reports them."""
    if not _api_calls:
        return None
    reported = _api_calls[0](tenant_ids, since, until)
    return {tenant_id: int(reported.get(tenant_id, 0)) for tenant_id in tenant_ids}
