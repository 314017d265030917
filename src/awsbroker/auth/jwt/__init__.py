"""The JWT/OIDC auth method (Vault's `jwt` plugin API).

What is here is the part that needs no mount framework: the config and role records with their
write-time checks (`config.py`, `role.py`), key sets from PEMs or JWKS (`keys.py`), fetched and
cached per mount (`jwks.py`), and the verification of a login's token (`verify.py`, with the
claim rules in `claims.py` and the JOSE library kept inside `jws.py`). The mount's paths
(`config`, `role/:name`, `login`) wire these to the auth-mount framework next.
"""
