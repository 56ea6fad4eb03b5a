"""SCIM 2.0 on a workspace host, /scim/v2/: the face of shared_apps.identity's SCIM services (no models of its own)."""
