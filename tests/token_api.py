"""A client of /api/v1 signed with a practice's API token (conftest's `api_token_for` headers)."""

from __future__ import annotations

import json

from django.test import Client


class TokenApi:
    def __init__(self, headers: dict):
        self.client, self.headers = Client(), headers

    def get(self, url):
        return self.client.get(f"/api/v1{url}", **self.headers)

    def post(self, url, body=None):
        return self.client.post(
            f"/api/v1{url}", json.dumps(body or {}), content_type="application/json", **self.headers
        )
