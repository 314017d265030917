"""HTTP <-> `Request`/`Response`, on Starlette. The only place that knows about HTTP."""
