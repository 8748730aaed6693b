"""A Healthcode-compatible clearing house for development, demos and tests.

Runs as its own process with its own SQLite storage and imports nothing from
``openpractice``. See ``docs/sandbox.md``.
"""

NAMESPACE = "https://openpractice.org/fhir/healthcode"
"""Base of every identifier system and code system URI that is our own choice."""
