"""Two-factor sign-in in the browser: turn it on with the key shown on the page, sign in with an
app code, then with a recovery code; and a practice that requires it."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from openpractice.practices.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # as in the root conftest


def app_code(secret: str, *, steps: int = 0) -> str:
    """What an authenticator app shows, from the key typed in by hand."""
    totp = TOTP(b32decode(secret.replace(" ", "")), step=30, t0=0, digits=6)
    totp.time = time.time() + steps * 30
    return f"{totp.token():06d}"


def log_out(page):
    page.locator("aside").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_turn_on_then_sign_in_with_a_code_and_with_a_recovery_code(
    page, live_server, login, screenshot, console_errors, owner, practice
):
    login(owner.email, PASSWORD)
    page.locator("aside").get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is off")).to_be_visible()
    screenshot(page, "two-factor-off")

    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    screenshot(page, "two-factor-set-up")
    page.get_by_label("Code from the app").fill("12")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#id_code_error")).to_contain_text("6-digit code")
    screenshot(page, "two-factor-set-up-error")
    page.get_by_label("Code from the app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    expect(page.get_by_text("Store these safely now")).to_be_visible()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "two-factor-recovery-codes")
    page.get_by_role("button", name="I have stored them: continue").click()
    expect(page.get_by_role("heading", name="Alpha Clinic")).to_be_visible()

    # Sign in again: the password, then the app's code (the next period's: this one is used).
    log_out(page)
    login(owner.email, PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert page.url.endswith("/accounts/login/code/")
    screenshot(page, "two-factor-code-step")
    page.get_by_label("Code").fill(app_code(secret, steps=1))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Alpha Clinic")).to_be_visible()

    # And with a recovery code, after a wrong code.
    log_out(page)
    login(owner.email, PASSWORD)
    page.get_by_label("Code").fill("abcd-efgh")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#id_code_error")).to_contain_text("not right")
    screenshot(page, "two-factor-code-wrong")
    page.wait_for_timeout(1200)  # django-otp's backoff after a wrong code is 1 s
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".flash-warning")).to_contain_text("You signed in with a recovery code")
    expect(page.get_by_role("heading", name="Alpha Clinic")).to_be_visible()
    screenshot(page, "two-factor-signed-in-with-recovery-code")

    page.locator("aside").get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_text("9 unused")).to_be_visible()
    screenshot(page, "two-factor-on")
    assert console_errors == []


def test_a_practice_that_requires_two_factor(
    page, live_server, login, screenshot, console_errors, owner, practice, make_member
):
    member = make_member(practice, Role.RECEPTIONIST, email="reception@alpha.test", full_name="Rob Reception")
    login(owner.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/practice/")
    page.get_by_label("Require two-factor sign-in for everyone").check()
    screenshot(page, "two-factor-practice-setting")
    page.get_by_role("button", name="Save").click()
    # The owner has no authenticator app yet either: straight to the set-up, with the reason.
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Alpha Clinic requires two-factor sign-in for everyone")
    page.locator("aside nav").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    screenshot(page, "two-factor-required")
    page.locator("#logout").get_by_role("button", name="Log out").click()

    login(member.email, PASSWORD)
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#recovery-codes code")).to_have_count(10)
    page.get_by_role("button", name="I have stored them: continue").click()
    expect(page.get_by_role("heading", name="Alpha Clinic")).to_be_visible()
    assert console_errors == []
