"""Vendored packages are data for the rebuild tests (their own tests run against the rebuilt
code in the sandbox), never collected here."""

collect_ignore_glob = ["packages/*"]
