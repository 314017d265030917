"""Auth methods: backends mounted under `auth/` that turn an identity a caller already has (a
signed JWT, a Kubernetes service-account token, an AppRole secret ID) into an `Auth` the core
makes a token of. They see the sdk only (an import-linter contract says so)."""
