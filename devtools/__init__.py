"""Development and test tooling that production never loads (an import-linter contract holds it to that)."""
