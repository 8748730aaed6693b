"""Where a page's time goes beyond its SQL, in the `scale` world (bench/scale_data.py):

    python -m bench.scale_profile [--rounds 30] [--page NAME] [--top 25] [--cprofile]

Each page of `bench.scale.pages` is requested in-process through the whole middleware chain (a
signed-in session read from the database, as a browser's is), `rounds` times after a warm-up, and
its time is split: SQL (every statement, timed by a database execute wrapper), template rendering
(outside its SQL), each middleware's own time (outside what it calls), the view's own time, and
the rest. Pairs of (page, its SQL replayed) are interleaved so the ratio is fair when the machine
is shared. `--cprofile` prints the functions that took most of the time outside SQL.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import pstats
import statistics
import sys
import time
from collections import defaultdict

from bench.scale_data import DATABASE, setup_django


class Clock:
    """Seconds spent, per label, in code wrapped with `timed` (nested labels are subtracted from
    their parent, so each label is its own time), and in SQL."""

    def __init__(self):
        self.own: dict[str, float] = defaultdict(float)
        self.stack: list[list] = []

    @contextlib.contextmanager
    def timed(self, label: str):
        frame = [label, time.perf_counter(), 0.0]  # label, start, time of nested labels
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            spent = time.perf_counter() - frame[1]
            self.own[label] += spent - frame[2]
            if self.stack:
                self.stack[-1][2] += spent

    def reset(self):
        self.own.clear()


def instrument(clock: Clock) -> None:
    """Wrap each middleware, view, template render and statement with the clock."""
    from django.conf import settings
    from django.core.handlers.base import BaseHandler
    from django.template.backends.django import Template
    from django.utils.module_loading import import_string

    for path in settings.MIDDLEWARE:
        cls = import_string(path)
        call = cls.__call__

        def timed_call(self, request, _call=call, _label=f"middleware {cls.__name__}"):
            with clock.timed(_label):
                return _call(self, request)

        cls.__call__ = timed_call

    original_get_response = BaseHandler._get_response

    def _get_response(self, request):
        with clock.timed("view and URL resolving"):
            return original_get_response(self, request)

    BaseHandler._get_response = _get_response

    original_render = Template.render

    def render(self, context=None, request=None):
        with clock.timed("template rendering"):
            return original_render(self, context, request)

    Template.render = render


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--page", action="append", help="only pages whose name contains this")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--sort", default="tottime", help="cProfile order: tottime or cumulative")
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args(argv)
    setup_django(args.database)
    import os

    from django.test import Client

    from bench.scale import STAFF_EMAIL, capture, pages, replay_ms, targets
    from openpractice.accounts.models import User

    clock = Clock()
    client = Client()
    client.force_login(User.objects.get(email=STAFF_EMAIL))
    instrument(clock)
    page_list = [p for p in pages(targets()) if not args.page or any(s in p.name for s in args.page)]
    print(f"load average {os.getloadavg()[0]:.1f}")
    for page in page_list:
        from django.db import connection

        for _ in range(3):
            client.get(page.url)
        queries, statements = capture(page, client)
        clock.reset()
        page_ms, sql_ms = [], []
        for _ in range(args.rounds):  # interleaved: page, then its SQL alone
            start = time.perf_counter()
            with connection.execute_wrapper(functools.partial(_sql, clock)):
                response = client.get(page.url)
            page_ms.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (page.url, response.status_code)
            sql_ms.append(replay_ms(statements))
        total = sum(page_ms) / 1000
        p50, s50 = statistics.median(page_ms), statistics.median(sql_ms)
        print(
            f"\n{page.name}: page p50 {p50:.1f} ms, its SQL p50 {s50:.1f} ms, ratio {p50 / s50:.1f}x, {queries} queries"
        )
        accounted = 0.0
        for label, seconds in sorted(clock.own.items(), key=lambda kv: -kv[1]):
            accounted += seconds
            print(f"  {label:<48} {seconds / args.rounds * 1000:7.2f} ms/request")
        print(f"  {'test client and the rest':<48} {(total - accounted) / args.rounds * 1000:7.2f} ms/request")
        if args.cprofile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.rounds):
                client.get(page.url)
            profile.disable()
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
    return 0


def _sql(clock, execute, sql, params, many, context):
    with clock.timed("SQL"):
        return execute(sql, params, many, context)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
