"""Healthcode: the clearing-house client, the published format rules and (later) bill submission."""
