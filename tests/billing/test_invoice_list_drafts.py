"""A draft has no invoice number yet: lists show it as "— (draft)", never "Draft 18", which read
as one more invoice number among the real ones (issue 15)."""

import re

from django.test import Client

from openpractice.billing import services


def _biller():
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="billing@demo.openpractice.test"))
    return client


def test_lists_show_a_draft_without_a_number_like_figure(demo, make_invoice):
    draft = make_invoice(last_name="Bennett")
    issued = services.issue_invoice(invoice=make_invoice(last_name="Bennett"))
    assert not draft.number and issued.number
    client = _biller()
    for url in ["/invoices/", f"/patients/{draft.patient_id}/invoices/", "/invoices/?view=not_ready"]:
        html = client.get(url).content.decode()
        row = re.search(rf'<a href="/invoices/{draft.pk}/">(.*?)</a>', html)
        if row is None:  # not every list holds the draft (not ready = failed the check)
            continue
        assert row.group(1) == '<span class="draft-ref">— (draft)</span>', url
        assert f"Draft {draft.pk}" not in html, url
    html = client.get("/invoices/").content.decode()
    assert f'<a href="/invoices/{issued.pk}/">{issued.number}</a>' in html
    assert f'<a href="/invoices/{draft.pk}/">' in html
    assert "Select draft invoice for" in html
