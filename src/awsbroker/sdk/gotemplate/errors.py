"""The one error a template raises."""


class TemplateError(ValueError):
    """A template that does not parse, or fails while running. The message says where."""
