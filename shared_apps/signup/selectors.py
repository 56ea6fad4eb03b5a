"""Sign-up's reads: whether a subdomain is free (the tenancy core answers, for sign-up and the settings alike)."""

from tenants.availability import Availability, subdomain_availability

__all__ = ["Availability", "subdomain_availability"]
