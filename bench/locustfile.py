"""Simulated staff for `python -m bench scale` (run by bench/scale.py, not by hand): each user takes
one of the sessions the benchmark signed in beforehand and opens the benchmark's pages in a
weighted mix (type-ahead and invoices most, reports least), pausing as a busy biller does.

SCALE_LOAD_PLAN names a JSON file: {"pages": [{"name", "url", "weight", ...}], "sessions": [cookies]}.
"""

from __future__ import annotations

import itertools
import json
import os
import random

from locust import FastHttpUser, between, task

_PLAN = json.loads(open(os.environ["SCALE_LOAD_PLAN"]).read()) if os.environ.get("SCALE_LOAD_PLAN") else {}
_PAGES = _PLAN.get("pages", [])
_SESSIONS = itertools.cycle(_PLAN.get("sessions", [{}]))


class Staff(FastHttpUser):
    wait_time = between(0.5, 1.5)  # a biller clicking through work, quicker than a person reads

    def on_start(self):
        cookies = next(_SESSIONS)
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.rng = random.Random()

    @task
    def open_a_page(self):
        page = self.rng.choices(_PAGES, weights=[p["weight"] for p in _PAGES])[0]
        with self.client.get(
            page["url"], name=page["name"], headers={"Cookie": self.cookie}, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "/accounts/login" in (response.url or ""):
                response.failure("signed out")
