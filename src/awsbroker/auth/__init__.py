"""Auth methods: backends whose login answers who the caller is, for the core to make a token.

Each method is a package here that sees `awsbroker.sdk` only; the composition root passes a
factory per type to the core (`server/compose.py`), which never imports them.
"""
