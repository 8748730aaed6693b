"""Two-factor sign-in: services (turning it on, codes, recovery codes) and every page."""

from __future__ import annotations

import re
import time

import pytest
from django.core.cache import cache
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from openpractice.accounts import selectors, services
from openpractice.accounts.errors import AccountError

PASSWORD = "correct-horse-battery"  # as in the root conftest


@pytest.fixture(autouse=True)
def _clear_cache(db):
    cache.clear()


def code_for(device, *, steps: int = 0) -> str:
    """The code an authenticator app shows now (or `steps` periods away), from the device's key."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def time_passes(device) -> None:
    """As if the next 30-second period had come: the last code used no longer blocks a new one."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)


def turn_on(user):
    device = services.start_two_factor(user=user)
    device, codes = services.confirm_two_factor(user=user, code=code_for(device))
    time_passes(device)
    return device, codes


@pytest.fixture
def no_backoff(settings):
    """django-otp's own backoff after a wrong code (1 s, 2 s, 4 s …) is tested on its own; elsewhere
    a right code straight after a wrong one must be judged on its merits."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


# --- Services ---------------------------------------------------------------------------------


def test_turning_on_needs_a_correct_code(owner, no_backoff):
    device = services.start_two_factor(user=owner)
    assert selectors.two_factor_device(user=owner) is None
    with pytest.raises(AccountError) as exc:
        services.confirm_two_factor(user=owner, code=f"{(int(code_for(device)) + 1) % 1_000_000:06d}")
    assert exc.value.code == "wrong_code" and exc.value.field == "code"
    device.refresh_from_db()
    assert device.confirmed is False and selectors.two_factor_device(user=owner) is None
    with pytest.raises(AccountError) as exc:
        services.confirm_two_factor(user=owner, code="12ab")
    assert exc.value.code == "format"

    device, codes = services.confirm_two_factor(user=owner, code=code_for(device))
    assert selectors.two_factor_device(user=owner) == device
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes)


def test_the_set_up_keeps_one_key_until_confirmed(owner):
    first = services.start_two_factor(user=owner)
    assert services.start_two_factor(user=owner).pk == first.pk
    turn_on(owner)
    with pytest.raises(AccountError) as exc:
        services.start_two_factor(user=owner)
    assert exc.value.code == "already_on"


def test_a_used_or_old_code_is_refused(owner, no_backoff):
    device = services.start_two_factor(user=owner)
    code = code_for(device)
    services.confirm_two_factor(user=owner, code=code)
    with pytest.raises(AccountError) as exc:  # the same code again: replay
        services.verify_second_factor(user=owner, code=code)
    assert exc.value.code == "wrong_code"
    time_passes(device)
    with pytest.raises(AccountError):  # a code from 5 periods ago
        services.verify_second_factor(user=owner, code=code_for(device, steps=-5))
    assert services.verify_second_factor(user=owner, code=code_for(device)) == device


def test_recovery_codes_work_once_and_are_stored_as_fingerprints(owner, no_backoff):
    _, codes = turn_on(owner)
    stored = set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes} and not stored & set(codes)

    # Typed in capitals, without the hyphen, with spaces: still the same code.
    device = services.verify_second_factor(user=owner, code=f" {codes[0].replace('-', '').upper()} ")
    assert device.name == services.RECOVERY_NAME
    assert selectors.recovery_codes_left(user=owner) == 9
    with pytest.raises(AccountError) as exc:
        services.verify_second_factor(user=owner, code=codes[0])
    assert exc.value.code == "wrong_code"
    assert services.verify_second_factor(user=owner, code=codes[1]) == device


def test_new_recovery_codes_need_a_current_code_and_replace_the_old(owner, no_backoff):
    device, old = turn_on(owner)
    with pytest.raises(AccountError):
        services.regenerate_recovery_codes(user=owner, code="000000" if code_for(device) != "000000" else "111111")
    new = services.regenerate_recovery_codes(user=owner, code=code_for(device))
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(AccountError):
        services.verify_second_factor(user=owner, code=old[0])
    assert services.verify_second_factor(user=owner, code=new[0])


def test_turning_off_needs_a_code_or_the_password(owner, no_backoff):
    device, codes = turn_on(owner)
    with pytest.raises(AccountError) as exc:
        services.turn_off_two_factor(user=owner)
    assert exc.value.code == "required"
    with pytest.raises(AccountError) as exc:
        services.turn_off_two_factor(user=owner, password="not-my-password")
    assert exc.value.code == "wrong_password" and exc.value.field == "password"
    assert selectors.two_factor_device(user=owner) is not None
    services.turn_off_two_factor(user=owner, password=PASSWORD)
    assert selectors.two_factor_device(user=owner) is None
    assert not TOTPDevice.objects.filter(user=owner).exists() and selectors.recovery_codes_left(user=owner) == 0


def test_django_otp_backs_off_after_a_wrong_code(owner):
    device, _ = turn_on(owner)
    right = code_for(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(AccountError):
        services.verify_second_factor(user=owner, code=wrong)
    with pytest.raises(AccountError) as exc:  # even the right code, a moment later
        services.verify_second_factor(user=owner, code=right)
    assert exc.value.code == "throttled"


# --- Sign-in ----------------------------------------------------------------------------------


def _password_step(client, user, next_url=None):
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def test_password_alone_does_not_sign_in_someone_with_two_factor(client, owner, practice):
    turn_on(owner)
    response = _password_step(client, owner)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
    # The half-signed-in state opens nothing: pages, the account area, the API.
    for path in [
        "/",
        "/settings/practice/",
        "/accounts/two-factor/",
        "/accounts/api-tokens/",
        "/accounts/two-factor/set-up/",
    ]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/practice").status_code == 401
    # Still waiting: the code page shows.
    page = client.get("/accounts/login/code/")
    assert page.status_code == 200
    assert '<label for="id_code">Code' in page.content.decode()


def test_the_code_signs_in_and_honours_a_safe_next(client, owner, practice):
    device, _ = turn_on(owner)
    _password_step(client, owner, next_url="/settings/practice/")
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/settings/practice/"
    assert client.get("/settings/practice/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert "two_factor_pending" not in client.session


def test_an_unsafe_next_goes_to_the_dashboard(client, owner, practice):
    device, _ = turn_on(owner)
    _password_step(client, owner, next_url="https://evil.example/steal")
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_wrong_code_is_named_and_does_not_sign_in(client, owner, practice, no_backoff):
    device, _ = turn_on(owner)
    _password_step(client, owner)
    response = client.post("/accounts/login/code/", {"code": "12345678"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_code_error"' in html and "not right" in html
    assert client.get("/").status_code == 302
    response = client.post("/accounts/login/code/", {"code": ""})
    assert "Enter the code" in response.content.decode()


def test_a_recovery_code_signs_in_once(client, owner, practice):
    _, codes = turn_on(owner)
    _password_step(client, owner)
    response = client.post("/accounts/login/code/", {"code": codes[3]}, follow=True)
    assert response.status_code == 200
    assert "You signed in with a recovery code" in response.content.decode() and "9 left" in response.content.decode()
    client.post("/accounts/logout/")
    _password_step(client, owner)
    response = client.post("/accounts/login/code/", {"code": codes[3]})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert client.get("/").status_code == 302


def test_the_code_step_is_throttled(client, owner, practice, settings, no_backoff):
    settings.LOGIN_FAILURE_LIMIT = 3
    device, _ = turn_on(owner)
    _password_step(client, owner)
    wrong = f"{(int(code_for(device)) + 7) % 1_000_000:06d}"
    for _ in range(3):
        assert client.post("/accounts/login/code/", {"code": wrong}).status_code == 200
    # Even the right code is refused while throttled, and a fresh password step does not reset it.
    _password_step(client, owner)
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 429 and "Too many wrong codes" in response.content.decode()
    assert client.get("/").status_code == 302


def test_a_waiting_sign_in_expires(client, owner, practice, settings):
    device, _ = turn_on(owner)
    _password_step(client, owner)
    settings.TWO_FACTOR_PENDING_SECONDS = -1  # any age is too old
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_a_password_change_drops_a_waiting_sign_in(client, owner, practice):
    device, _ = turn_on(owner)
    _password_step(client, owner)
    owner.set_password("another-long-password")
    owner.save()
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_the_code_page_without_a_password_step_goes_to_login(client, db):
    response = client.get("/accounts/login/code/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_without_two_factor_the_password_signs_in_as_before(client, owner, practice):
    response = _password_step(client, owner)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


# --- The account pages ------------------------------------------------------------------------


def test_the_status_page_when_off_offers_to_turn_it_on(owner_client):
    html = owner_client.get("/accounts/two-factor/").content.decode()
    assert "Two-factor sign-in is off" in html and 'href="/accounts/two-factor/set-up/"' in html
    assert 'href="/accounts/two-factor/"' in html  # the sidebar link


def test_set_up_page_shows_a_qr_code_and_the_key(owner_client, owner):
    response = owner_client.get("/accounts/two-factor/set-up/")
    html = response.content.decode()
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    assert "<svg" in html and "<img" not in html.split('class="qr-code"')[1].split("</div>")[0]
    from base64 import b32encode

    assert b32encode(device.bin_key).decode()[:4] in html
    assert '<label for="id_code">Code from the app' in html


def test_set_up_page_wrong_code_then_right_code_shows_codes_once(owner_client, owner, no_backoff):
    owner_client.get("/accounts/two-factor/set-up/")
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    response = owner_client.post(
        "/accounts/two-factor/set-up/", {"code": "999999" if code_for(device) != "999999" else "111111"}
    )
    assert response.status_code == 200 and 'id="id_code_error"' in response.content.decode()
    assert selectors.two_factor_device(user=owner) is None

    response = owner_client.post("/accounts/two-factor/set-up/", {"code": code_for(device)})
    html = response.content.decode()
    assert "Store these safely" in html and html.count("<li><code>") == 10
    # Shown once: the status page does not show them again.
    status = owner_client.get("/accounts/two-factor/").content.decode()
    assert "Two-factor sign-in is on" in status and "10 unused" in status
    assert owner_client.get("/accounts/two-factor/set-up/").status_code == 302


def test_recovery_codes_page_needs_a_current_code(owner_client, owner, no_backoff):
    device, _ = turn_on(owner)
    response = owner_client.post("/accounts/two-factor/recovery-codes/", {"recovery-code": ""})
    assert 'id="id_recovery-code_error"' in response.content.decode()
    response = owner_client.post("/accounts/two-factor/recovery-codes/", {"recovery-code": "abcd-efgh"})
    assert response.status_code == 200 and "not right" in response.content.decode()
    response = owner_client.post("/accounts/two-factor/recovery-codes/", {"recovery-code": code_for(device)})
    assert (
        "Your new recovery codes" in response.content.decode() and response.content.decode().count("<li><code>") == 10
    )


def test_turn_off_page(owner_client, owner, no_backoff):
    turn_on(owner)
    response = owner_client.post("/accounts/two-factor/turn-off/", {"off-code": "", "off-password": ""})
    assert 'id="id_off-code_error"' in response.content.decode()
    response = owner_client.post("/accounts/two-factor/turn-off/", {"off-password": "wrong-password"})
    assert 'id="id_off-password_error"' in response.content.decode()
    response = owner_client.post("/accounts/two-factor/turn-off/", {"off-password": PASSWORD}, follow=True)
    assert "Two-factor sign-in is off" in response.content.decode()
    assert selectors.two_factor_device(user=owner) is None


def test_turn_off_is_throttled(owner_client, owner, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    turn_on(owner)
    for _ in range(2):
        owner_client.post("/accounts/two-factor/turn-off/", {"off-password": "wrong-password"})
    response = owner_client.post("/accounts/two-factor/turn-off/", {"off-password": PASSWORD})
    assert response.status_code == 429
    assert selectors.two_factor_device(user=owner) is not None


# --- A practice that requires two-factor ------------------------------------------------------


def test_owner_requires_two_factor_on_the_settings_page(owner_client, practice):
    html = owner_client.get("/settings/practice/").content.decode()
    assert 'for="id_require_two_factor"' in html and "Require two-factor sign-in for everyone" in html
    owner_client.post("/settings/practice/", {"name": practice.name, "require_two_factor": "on"})
    practice.refresh_from_db()
    assert practice.require_two_factor is True


def test_the_requirement_sends_members_without_it_to_set_up(client_for, receptionist, practice, api_token_for):
    practice.require_two_factor = True
    practice.save()
    client = client_for(receptionist)
    for path in ["/", "/patients/", "/accounts/two-factor/", "/accounts/api-tokens/"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/set-up/", path
    page = client.get("/accounts/two-factor/set-up/").content.decode()
    assert "Alpha Clinic requires two-factor sign-in for everyone" in page
    # Session API calls need it too; token calls are unaffected.
    assert client.get("/api/v1/me").status_code == 403
    from django.test import Client

    assert Client().get("/api/v1/me", **api_token_for(receptionist, practice)).status_code == 200
    # Setting it up opens everything.
    device = TOTPDevice.objects.get(user=receptionist, confirmed=False)
    response = client.post("/accounts/two-factor/set-up/", {"code": code_for(device)})
    assert "Store these safely" in response.content.decode()
    assert client.get("/").status_code == 200 and client.get("/api/v1/me").status_code == 200


def test_the_requirement_leaves_logout_reachable(client_for, receptionist, practice):
    practice.require_two_factor = True
    practice.save()
    client = client_for(receptionist)
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_the_requirement_signs_out_a_session_from_before_two_factor(client_for, receptionist, practice):
    session_before = client_for(receptionist)  # signed in with the password alone
    turn_on(receptionist)
    practice.require_two_factor = True
    practice.save()
    response = session_before.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/patients/")
    assert session_before.get("/").status_code == 302


def test_other_practices_are_unaffected(client_for, other_owner, practice):
    practice.require_two_factor = True
    practice.save()
    assert client_for(other_owner).get("/").status_code == 200


# --- Rules ------------------------------------------------------------------------------------


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    code=st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=8, max_size=8),
    upper=st.lists(st.booleans(), min_size=8, max_size=8),
    gaps=st.lists(st.sampled_from(["", " ", "-", "  ", " - "]), min_size=9, max_size=9),
)
def test_a_recovery_code_is_the_same_code_however_it_is_typed(code, upper, gaps):
    typed = "".join(gap + (ch.upper() if up else ch) for gap, ch, up in zip(gaps, code, upper)) + gaps[-1]
    assert services.recovery_fingerprint(typed) == services.recovery_fingerprint(f"{code[:4]}-{code[4:]}")
    other = ("b" if code[0] == "a" else "a") + code[1:]
    assert services.recovery_fingerprint(other) != services.recovery_fingerprint(code)


def test_reset_command_turns_two_factor_off(owner, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    turn_on(owner)
    call_command("reset_two_factor", "OWNER@alpha.test")
    assert selectors.two_factor_device(user=owner) is None and selectors.recovery_codes_left(user=owner) == 0
    assert "is off for owner@alpha.test" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("reset_two_factor", "nobody@alpha.test")
