"""End to end through the services against the real sandbox: check, submit, deliver, status."""

from openpractice.billing.models import HealthcodeStatus
from openpractice.healthcode import submission as hc
from openpractice.healthcode.checking import check_invoice
from openpractice.healthcode.models import SubmissionState


def test_submit_deliver_and_follow(demo, make_invoice, healthcode_sandbox, settings):
    from openpractice.healthcode.services import check_membership

    invoice = make_invoice()
    assert invoice.total == invoice.net_total and str(invoice.total) == "180.00"
    result = check_invoice(invoice=invoice)
    assert [p.rule for p in result.problems] == ["member-not-checked"], result.problems
    check = check_membership(relationship=invoice.insurance, active_on=invoice.first_date_of_service)
    assert check.outcome == "match", check.message
    assert check_invoice(invoice=invoice).problems == []
    submission = hc.submit_invoice(invoice=invoice, enqueue=False)
    assert hc.deliver(submission.pk) == SubmissionState.ACCEPTED
    submission.refresh_from_db()
    assert submission.bill_id.startswith("HCB") and submission.healthcode_status == HealthcodeStatus.UNPROCESSED
    assert hc.deliver(submission.pk) == SubmissionState.ACCEPTED  # guard: nothing sent again
    from sandbox.testing import SandboxApi

    SandboxApi(healthcode_sandbox).advance(3700 + 130)
    hc.refresh_status(submission=submission)
    invoice.refresh_from_db()
    assert invoice.healthcode_status == HealthcodeStatus.COLLECTED
    assert [e.to_status for e in submission.events.all()][-1] == "collected"
