"""The Kubernetes auth method: service-account tokens verified by the TokenReview API."""
