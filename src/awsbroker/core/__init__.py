"""The core: router, mount table, request pipeline, token store, policies and the sys backend.

It never imports an engine: the composition root hands it engine factories by type name.
"""
