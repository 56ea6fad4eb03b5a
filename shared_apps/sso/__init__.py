"""The root domain's "Sign in with SSO": find a person's workspace by the verified domain of their address, then send
them to that workspace's identity provider (a face over shared_apps/identity; no models)."""
