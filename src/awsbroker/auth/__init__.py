"""Auth methods: backends mounted under `auth/` that turn an identity a caller already has (a
signed JWT, a Kubernetes service-account token, an AppRole secret ID) into an `Auth` the core
makes a token of.

Each method is a package here that sees `awsbroker.sdk` only (an import-linter contract says
so); the composition root passes a factory per type to the core (`server/compose.py`), which
never imports them.
"""
