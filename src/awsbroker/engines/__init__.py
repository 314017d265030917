"""Secrets engines. Each sees only `awsbroker.sdk` (and its own third-party client)."""
