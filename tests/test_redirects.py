"""The one `next` check (openpractice/redirects.py): on this site's host only, https behind HTTPS."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from openpractice.redirects import safe_next, safe_next_url

PASSWORD = "correct-horse-battery"  # as in the root conftest


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
    ],
)
def test_off_site_targets_fall_back_to_the_default(target):
    request = RequestFactory().post("/x/", {"next": target})
    assert safe_next(request) == ""
    assert safe_next_url(request, "/remittances/review/") == "/remittances/review/"


def test_own_site_targets_are_followed_and_https_is_required_behind_https():
    request = RequestFactory().post("/x/", {"next": "/invoices/4/"})
    assert safe_next(request) == "/invoices/4/"
    request = RequestFactory().post("/x/", {"next": "http://testserver/invoices/4/"}, secure=True)
    assert safe_next(request) == ""  # a downgrade to http is refused on an https site
    request = RequestFactory().post("/x/", {"next": "https://testserver/invoices/4/"}, secure=True)
    assert safe_next(request) == "https://testserver/invoices/4/"


def test_login_refuses_an_off_site_next(client, owner):
    answer = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": owner.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert answer.status_code == 302 and "evil" not in answer["Location"]
    client.logout()
    answer = client.post("/accounts/login/", {"username": owner.email, "password": PASSWORD, "next": "/reports/"})
    assert answer["Location"] == "/reports/"
