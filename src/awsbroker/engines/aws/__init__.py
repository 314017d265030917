"""The AWS secrets engine."""
