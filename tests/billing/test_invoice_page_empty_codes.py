"""The invoice page's lines: a code the line does not carry (a procedure has no Industry Standard
Code) shows a dash, not an empty code badge."""

from __future__ import annotations

import re

from openpractice.practices.models import Membership


def test_a_line_without_an_industry_standard_code_shows_a_dash(client, demo, make_invoice):
    invoice = make_invoice(product="Knee arthroscopy", bill_to="patient")
    line = invoice.lines.get()
    assert line.industry_standard_code == "" and line.procedure_code
    client.force_login(Membership.objects.filter(practice=demo, role="owner").first().user)
    page = client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "<code></code>" not in page
    row = re.search(r"<tr><td>1</td>.*?</tr>", page, re.S).group(0)
    assert '<span class="muted">—</span>' in row and f"<code>{line.procedure_code}</code>" in row
