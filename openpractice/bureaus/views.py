"""The bureau's pages: the combined queue over its practices, a bulk submission and a remittance
fetch across them, each run's page, and opening a row's practice. Thin: they parse, call a
selector or service, and render. Every page is for bureau staff (`require_bureau_staff`) and shows
only the practices where the person's own membership allows that kind of row."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from openpractice.billing.selectors import AGE_BUCKETS
from openpractice.bureaus import selectors, services
from openpractice.bureaus.errors import BureauError
from openpractice.bureaus.permissions import require_bureau_staff
from openpractice.bureaus.selectors import Kind, as_int, filters_from
from openpractice.practices.middleware import SESSION_PRACTICE_KEY
from openpractice.practices.roles import Capability
from openpractice.redirects import safe_next


@require_GET
@require_bureau_staff
def queue(request):
    space = request.workspace
    kind = request.GET.get("kind") or ""
    if kind not in Kind.ALL:  # the first kind the person may see
        kind = next((k for k in Kind.ALL if space.can(Kind.CAPABILITY[k])), Kind.FAILED)
    filters = filters_from(request.GET)
    rechecking = 0
    if kind in (Kind.READY, Kind.NOT_READY):
        pending = selectors.rechecks_pending(space=space)
        rechecking = sum(pending.values())
        if pending:
            services.queue_rechecks(space=space, practice_ids=list(pending))
    page = selectors.queue_page(space=space, kind=kind, filters=filters, after=request.GET.get("after", ""))
    counts = selectors.counts(space=space, filters=filters)
    kept = {
        k: v for k, v in (("practice", filters.practice_id), ("insurer", filters.insurer), ("age", filters.age)) if v
    }
    tabs = [
        {
            "kind": k,
            "label": Kind.LABELS[k],
            "count": counts[k],
            "capped": counts[k] > selectors.COUNT_CAP,
            "url": "?" + urlencode({"kind": k, **kept}),
            "current": k == kind,
        }
        for k in Kind.ALL
        if space.can(Kind.CAPABILITY[k])
    ]
    return render(
        request,
        "bureaus/queue.html",
        {
            "space": space,
            "kind": kind,
            "kind_label": Kind.LABELS[kind],
            "page": page,
            "tabs": tabs,
            "filters": filters,
            "insurer_applies": kind in Kind.INSURER_FILTERED,
            "selectable": kind in Kind.SELECTABLE and bool(page.rows),
            "next_url": "?" + urlencode({"kind": kind, **kept, "after": page.next_cursor}) if page.next_cursor else "",
            "first_url": "?" + urlencode({"kind": kind, **kept}),
            "paged": bool(request.GET.get("after")),
            "aged": services.aged_debt_for(space=space, filters=filters),
            "practices": space.practices(),
            "insurers": selectors.insurer_choices(),
            "ages": list(AGE_BUCKETS),
            "can_bill": space.can(Capability.BILLING),
            "runs": selectors.recent_runs(space=space),
            "rechecking": rechecking,
            "panel": selectors.practices_panel(space=space, user=request.user),
        },
    )


@require_POST
@require_bureau_staff
def submit(request):
    """Ticked bills of several practices: first a confirmation (how many, of which practice, how
    much), then "Send" submits each practice's bills with its own Healthcode connection."""
    space = request.workspace
    ids = [i for i in (as_int(v) for v in request.POST.getlist("invoice")) if i]
    bills = selectors.chosen_bills(space=space, invoice_ids=ids)
    if request.POST.get("confirmed") != "yes":
        summary = selectors.totals_by_practice(bills)
        if not summary["count"]:
            messages.error(request, "Tick the bills to submit first (the boxes in the list).")
            return redirect("bureaus:queue")
        return render(request, "bureaus/submit_confirm.html", {"summary": summary, "ids": ids})
    try:
        run = services.submit_across(space=space, user=request.user, invoice_ids=ids)
    except BureauError as exc:
        messages.error(request, exc.message)
        return redirect("bureaus:queue")
    return redirect("bureaus:run", run.pk)


@require_POST
@require_bureau_staff
def fetch(request):
    try:
        run = services.fetch_across(space=request.workspace, user=request.user)
    except BureauError as exc:
        messages.error(request, exc.message)
        return redirect("bureaus:queue")
    messages.success(request, "Fetching remittances from Healthcode for each practice: the progress shows below.")
    return redirect("bureaus:run", run.pk)


@require_POST
@require_bureau_staff
def count_debts(request):
    """ "Count again now": aged debt by practice counted afresh, back to the page it was asked on."""
    services.count_debts_again(space=request.workspace)
    messages.success(request, "Aged debt by practice is counted again: the figures are as of now.")
    return redirect(safe_next(request) or "bureaus:queue")


@require_GET
@require_bureau_staff
def run_detail(request, bureau_run_id: int):
    space = request.workspace
    run = selectors.run(space=space, run_id=bureau_run_id)
    if run is None:
        raise Http404("No such run in your bureau.")
    parts = selectors.run_parts(space=space, run=run)
    moving = any(
        (p.progress and not p.progress["finished"]) or (p.fetch is not None and p.fetch.is_active) for p in parts
    )
    return render(
        request,
        "bureaus/run.html",
        {"run": run, "parts": parts, "skipped": selectors.run_skipped(space=space, run=run), "moving": moving},
    )


@require_POST
@require_bureau_staff
def open_practice(request):
    """Work in one of the bureau's practices: the practice's own pages from here on (the header
    says which), at the row's page when one is given."""
    membership = request.workspace.membership_in(request.POST.get("practice_id", ""))
    if membership is None:
        messages.error(request, "You are not a member of that practice.")
        return redirect("bureaus:queue")
    request.session[SESSION_PRACTICE_KEY] = membership.practice_id
    return redirect(safe_next(request) or "home:dashboard")
