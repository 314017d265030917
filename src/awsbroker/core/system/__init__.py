"""The `sys/` backend: `backend.py` mounts it; each `path_*.py` serves one family of `sys/`
paths (mounts, auth, policies, leases, seal, rekey, wrapping...) over the core's stores."""
