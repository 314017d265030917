"""The plain types every layer shares: requests, responses, storage, errors, paths.

Nothing here imports anything else of awsbroker, and nothing here does I/O.
"""
