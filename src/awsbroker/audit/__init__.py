"""Audit devices: one JSON line per request and per response, secrets replaced by HMACs.

`entry.py` builds the lines, `hashing.py` hashes them with a device's salt, `device.py` pairs
a formatter with a sink (`file_sink.py`, `socket_sink.py`), and `broker.py` fans each entry
out to every enabled device and applies the fail-closed rule. Which devices are enabled, and
their salts, the core keeps behind the barrier (`core/audit_table.py`).
"""
