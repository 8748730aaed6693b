def test_openapi_docs_need_login_and_use_local_assets(client, owner_client):
    assert client.get("/api/v1/docs").status_code == 302
    html = owner_client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_openapi_schema_lists_the_endpoints(owner_client):
    schema = owner_client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in schema["paths"]
    assert "/api/v1/integrations/healthcode" in schema["paths"]
