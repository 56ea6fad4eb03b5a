"""A Stripe-compatible server on loopback for development and tests (see `server.py`)."""
