"""Human review: confidence scores, the review queue's rules, the assistant and the actions.

Pure logic: the store keeps the queue (``store/review_repository.py``), the CLI and the
sensor call into here, and nothing in this package imports Dagster.
"""
