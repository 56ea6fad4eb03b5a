"""Identity for organisations: verified domains, workspace policies, SCIM provisioning (public schema)."""
