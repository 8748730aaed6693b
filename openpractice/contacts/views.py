"""Contacts pages: list with search, add/edit, summary, archive. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from openpractice.contacts import selectors, services
from openpractice.contacts.errors import ContactError
from openpractice.contacts.forms import ContactForm
from openpractice.contacts.models import Contact, ContactType
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404


@require_capability(Capability.VIEW_RECORDS)
def contact_list(request):
    query = request.GET.get("q", "")[:100]
    contact_type = request.GET.get("type", "")
    contact_type = contact_type if contact_type in ContactType.values else ""
    archived = request.GET.get("archived") == "1"
    contacts = selectors.search_contacts(
        practice=request.practice, query=query, contact_type=contact_type, include_archived=archived
    )
    page = Paginator(contacts, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "contacts/list.html",
        {
            "page": page,
            "query": query,
            "contact_type": contact_type,
            "archived": archived,
            "types": ContactType.choices,
        },
    )


@require_capability(Capability.VIEW_RECORDS)
def contact_detail(request, contact_id: int):
    contact = get_for_practice_or_404(Contact.objects.select_related("insurer"), request.practice, pk=contact_id)
    return render(request, "contacts/detail.html", {"contact": contact, **selectors.contact_usage(contact=contact)})


@require_capability(Capability.EDIT_RECORDS)
def contact_edit(request, contact_id: int | None = None):
    contact = get_for_practice_or_404(Contact, request.practice, pk=contact_id) if contact_id else None
    initial = {}
    if contact:
        initial = {f: getattr(contact, f) for f in services.FIELDS if f != "insurer"}
        initial["insurer"] = str(contact.insurer_id or "")
    elif request.GET.get("type") in ContactType.values:
        initial["contact_type"] = request.GET["type"]
    form = ContactForm(request.POST or None, initial=initial, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        try:
            if contact is None:
                contact = services.create_contact(practice=request.practice, data=form.cleaned_data)
                messages.success(request, f"Contact “{contact.name}” added.")
            else:
                contact = services.update_contact(contact=contact, data=form.cleaned_data)
                messages.success(request, f"Contact “{contact.name}” saved.")
            return redirect("contacts:detail", contact.id)
        except ContactError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return render(request, "contacts/form.html", {"form": form, "contact": contact})


@require_POST
@require_capability(Capability.EDIT_RECORDS)
def contact_archive(request, contact_id: int):
    contact = get_for_practice_or_404(Contact, request.practice, pk=contact_id)
    archived = request.POST.get("archived", "1") == "1"
    services.set_archived(contact=contact, archived=archived)
    messages.success(request, f"“{contact.name}” {'archived' if archived else 'restored'}.")
    return redirect("contacts:detail", contact.id)
