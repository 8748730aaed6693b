"""Per-user API tokens: stored hashed, shown once, revocable."""

from openpractice.accounts.models import ApiToken, hash_token


def test_token_shown_once_and_stored_hashed(owner_client, owner):
    response = owner_client.post("/accounts/api-tokens/", {"name": "Accounts export"})
    html = response.content.decode()
    token = ApiToken.objects.get(user=owner)
    raw = html.split('id="new-token">')[1].split("<")[0].strip()
    assert raw.startswith("op_")
    assert token.token_hash == hash_token(raw)
    assert raw not in token.token_hash and raw not in token.prefix + "x"
    # Shown once: the list page afterwards shows only the prefix.
    assert raw not in owner_client.get("/accounts/api-tokens/").content.decode()


def test_revoked_token_is_refused(owner_client, owner, practice, client):
    from openpractice.accounts.services import create_api_token

    token, raw = create_api_token(user=owner, practice=practice, name="t")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    owner_client.post(f"/accounts/api-tokens/{token.pk}/revoke/")
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_cannot_revoke_someone_elses_token(owner_client, receptionist, practice):
    from openpractice.accounts.services import create_api_token

    token, _ = create_api_token(user=receptionist, practice=practice, name="theirs")
    assert owner_client.post(f"/accounts/api-tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_revoke_asks_first_naming_the_token(owner_client, owner, practice):
    from openpractice.accounts.services import create_api_token

    token, _ = create_api_token(user=owner, practice=practice, name="Accounts export")
    listing = owner_client.get("/accounts/api-tokens/").content.decode()
    assert "Revoke “Accounts export”" in listing
    page = owner_client.get(f"/accounts/api-tokens/{token.pk}/revoke/").content.decode()
    assert "Revoke the API token “Accounts export”" in page and ">Revoke token “Accounts export”</button>" in page
    token.refresh_from_db()
    assert token.is_active  # GET never writes
    owner_client.post(f"/accounts/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert not token.is_active
