"""Writes about a workspace's identity settings, one module per concern; each checks the acting person's role,
runs in one transaction and writes an audit entry in the workspace's log."""
