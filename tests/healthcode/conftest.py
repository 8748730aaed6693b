"""The demo practice on the sandbox, shared with the billing tests."""

from tests.billing.conftest import demo, make_invoice  # noqa: F401
