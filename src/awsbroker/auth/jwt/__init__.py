"""The JWT/OIDC auth method (Vault's `jwt` plugin API, mounted as type `jwt` or `oidc`).

The records with their write-time checks (`config.py`, `role.py`), key sets from PEMs or JWKS
(`keys.py`), fetched and cached per mount (`jwks.py`), and the verification of a token
(`verify.py`, with the claim rules in `claims.py` and the JOSE library kept inside `jws.py`)
need no mount framework. The mount's paths wire them to it: `backend.py`, `path_config.py`,
`path_role.py`, `path_login.py`, and the OIDC browser flow in `path_oidc.py` (its provider
calls in `oidc_client.py`), with the stored records in `store.py`.
"""
