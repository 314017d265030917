"""HTTP <-> `Request`/`Response`: an ASGI app on Starlette's request and response types.

The only place that knows about HTTP.
"""
