"""Background work of the bureau on the Django Tasks API. The fresh count of aged debt by practice
is defined beside what it runs (debt_summaries), so the page's code queues it without importing
this module; it is named here too, as every app's tasks are."""

from __future__ import annotations

from openpractice.bureaus.debt_summaries import refresh_debt_summaries  # noqa: F401 (defined beside what it runs)
