"""A 403 is the app refusing as meant: one warning line in the log, no traceback (issue 15)."""

import io
import logging
import sys

import pytest

from openpractice.error_pages import ClientErrorsWithoutTraceback


@pytest.fixture
def console():
    """What the log shows, through a handler on the root logger as the console handler is."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_a_403_page_logs_one_warning_line_and_no_traceback(receptionist_client, console):
    response = receptionist_client.get("/settings/users/")
    assert response.status_code == 403
    lines = console.getvalue().splitlines()
    assert lines == ["WARNING django.request: Forbidden (Permission denied): /settings/users/"]


def _record(status_code):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), sys.exc_info())
    record.status_code = status_code
    return record


def test_a_server_error_keeps_its_traceback():
    record = _record(500)
    assert ClientErrorsWithoutTraceback().filter(record)
    assert record.exc_info is not None


def test_a_client_error_loses_its_traceback():
    record = _record(403)
    assert ClientErrorsWithoutTraceback().filter(record)
    assert record.exc_info is None


def test_a_403_from_the_api_logs_no_traceback(client, receptionist, practice, api_token_for, console):
    response = client.get("/api/v1/users", **api_token_for(receptionist, practice))
    assert response.status_code == 403
    assert "Traceback" not in console.getvalue()
    assert len(console.getvalue().splitlines()) <= 1
