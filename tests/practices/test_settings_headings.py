"""Each Settings page is headed by its own name, not one "Settings" for all (issue 15)."""

import re

import pytest

HEADINGS = {
    "/settings/practice/": "Settings › Practice",
    "/settings/locations/": "Settings › Locations",
    "/settings/users/": "Settings › Users",
    "/settings/integrations/": "Settings › Integrations",
    "/settings/integrations/healthcode/log/": "Settings › Healthcode exchange log",
    "/settings/billing/": "Settings › Invoice numbering",
    "/settings/coding/": "Settings › Code sets",
    "/settings/coding/insurers/": "Settings › Insurers",
    "/settings/read-log/": "Settings › Read log",
}


@pytest.mark.parametrize("url", HEADINGS)
def test_each_settings_page_has_its_own_heading_and_the_settings_tabs(owner_client, url):
    response = owner_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r"<h1>(.*?)</h1>", html) == [HEADINGS[url]]
    assert '<nav class="tabs" aria-label="Settings">' in html
