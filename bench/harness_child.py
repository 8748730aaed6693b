"""Child-side benchmark steps that need Django (run by bench.harness.Installation.run)."""

from __future__ import annotations

import json
import resource
import sys
import time


def main(argv: list[str]) -> None:
    import django

    django.setup()
    from openpractice.billing.models import Invoice
    from openpractice.healthcode.checking import DatabaseKnowledge, check_invoices
    from openpractice.practices.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    practice = Practice.objects.get(name=DEMO_PRACTICE)
    if argv[0] == "check":
        ids = list(Invoice.objects.for_practice(practice).values_list("pk", flat=True))
        started = time.perf_counter()
        knowledge = DatabaseKnowledge(practice)
        checked = passed = 0
        for start in range(0, len(ids), 1000):  # as the "not ready" list and bulk submit do: in chunks
            results = check_invoices(practice=practice, knowledge=knowledge,
                                     queryset=Invoice.objects.filter(pk__in=ids[start:start + 1000]))
            checked += len(results)
            passed += sum(r.passed for r in results.values())
        seconds = time.perf_counter() - started
        print(json.dumps({"bills": checked, "passed": passed, "seconds": seconds,
                          "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main(sys.argv[1:])
