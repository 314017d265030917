"""Physical storage: untrusted durable bytes under string keys, behind `sdk.storage.Storage`.

Backends: `inmem` (tests, dev), `sqlite` (one file) and `postgresql` (shared, HA).
They store whatever the barrier gives them; they never see plaintext.
"""
