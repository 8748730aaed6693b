"""The read log: who opened which patient record, invoice, invoice PDF or export, and when.

A low layer: it imports practices and accounts only. What counts as a read is one table
(registry.py) keyed on URL names; the middleware writes one row per such read.
"""
