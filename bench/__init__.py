"""Benchmarks of awsbroker: run them as `python -m bench.<name>` from the repository root.

They print figures next to a baseline measured in the same run; see `bench/README.md`.
"""
