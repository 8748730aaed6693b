"""Refuse NUL characters in API input at the edge, with a 422 naming where they are.

PostgreSQL cannot store them in text, and no field of ours has a use for them; without this
check the database would raise a server error deep inside a service.
"""

from __future__ import annotations

import json

from django.http import JsonResponse

MESSAGE = "Remove the NUL (\\x00) character: text fields cannot hold it."


def _find_nul(value, loc):
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_nul(key, loc) or _find_nul(item, [*loc, str(key)])
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, [*loc, index])
            if found:
                return found
    return None


class RefuseNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            where = _find_nul({k: request.GET.getlist(k) for k in request.GET}, ["query"])
            if where is None and request.content_type == "application/json" and b"\\u0000" in request.body:
                try:
                    where = _find_nul(json.loads(request.body), ["body"])
                except ValueError:
                    where = None  # not JSON: the API's own parser answers that
            if where is not None:
                if where[0] == "query" and len(where) > 2:
                    where = where[:2]
                return JsonResponse({"detail": [{"loc": where, "msg": MESSAGE, "type": "nul_character"}]}, status=422)
        return self.get_response(request)
