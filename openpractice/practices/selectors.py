"""Reads for practices, locations and memberships. Always scoped to one practice."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from openpractice.accounts.models import PractitionerProfile, User, hash_token
from openpractice.db import rows
from openpractice.db import sql as db_sql
from openpractice.practices.models import Invitation, Location, Membership, Practice
from openpractice.practices.roles import Role


def active_memberships(*, user) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, is_active=True, user__is_active=True)
        .select_related("practice")
        .order_by("practice__name")
    )


# Flags about the signed-in person that an app above this one reads on every page, computed in the
# memberships' own query so they cost no query of their own: name -> an SQL boolean over `u.id`
# (the user's id). Registered by the app owning the table it reads (bureaus.apps), which this
# layer does not import; each membership read carries them as `membership.user_flags`.
USER_FLAGS: dict[str, str] = {}


def register_user_flag(name: str, sql: str) -> None:
    USER_FLAGS[name] = sql


def signed_in_memberships(*, user) -> list[Membership]:
    """The user's active memberships, each with its practice, in active_memberships' order (by
    practice name): one hand-written query (openpractice.db.rows), as it runs on every request
    (the current practice and the sidebar's practice switch both read it); building it through
    the ORM took 30x longer than running it. Each carries the USER_FLAGS, read in the same query."""
    names = tuple(USER_FLAGS)
    flags = "".join(f", ({USER_FLAGS[name]})" for name in names)
    found = rows.every_with_rest(
        f"SELECT {rows.columns(Membership, 'm')}, {rows.columns(Practice, 'p')}{flags} "
        f"FROM {Membership._meta.db_table} m "
        f"JOIN {Practice._meta.db_table} p ON p.id = m.practice_id "
        f"JOIN {User._meta.db_table} u ON u.id = m.user_id "
        "WHERE m.user_id = %s AND m.is_active AND u.is_active "
        "ORDER BY p.name, m.id",
        [user.pk],
        Membership,
        Practice,
    )
    memberships = []
    for (membership, practice), rest in found:
        membership.practice = practice
        membership.user_flags = {name: bool(value) for name, value in zip(names, rest)}
        memberships.append(membership)
    return memberships


def chosen_membership(memberships: list[Membership], *, practice_id) -> Membership | None:
    """The membership for the practice chosen in this session, else the first one."""
    for membership in memberships:
        if membership.practice_id == practice_id:
            return membership
    return memberships[0] if memberships else None


def current_membership(*, user, practice_id) -> Membership | None:
    """The membership for the practice chosen in this session, else the user's first one
    (active_memberships' order), with its practice."""
    return chosen_membership(signed_in_memberships(user=user), practice_id=practice_id)


def practice_members(*, practice: Practice, include_inactive: bool = True) -> QuerySet[Membership]:
    qs = Membership.objects.for_practice(practice).select_related("user", "practitioner_profile")
    if not include_inactive:
        qs = qs.filter(is_active=True, user__is_active=True)
    return qs.order_by("-is_active", "user__full_name")


def practitioner_choices(*, practice: Practice) -> list[dict]:
    """Memberships with practitioner details, as {"id", "full_name"} by name (any member who has
    billed as a practitioner, active or not): the invoice list's practitioner filter. One
    hand-written statement, as that list shows it on every page (issue 18; tests hold it equal to
    the ORM's reading)."""
    found = db_sql.fetch_all(
        f"SELECT m.id, u.full_name FROM {Membership._meta.db_table} m "
        f"JOIN {PractitionerProfile._meta.db_table} pp ON pp.membership_id = m.id "
        f"JOIN {User._meta.db_table} u ON u.id = m.user_id "
        "WHERE m.practice_id = %s ORDER BY u.full_name, m.id",
        [practice.pk],
    )
    return [{"id": pk, "full_name": name} for pk, name in found]


def practitioners(*, practice: Practice, first=None, also=()) -> QuerySet[Membership]:
    """The practice's practitioners: active members with the practitioner role, or with
    practitioner details (a Healthcode identifier lives there; an owner who treats patients has
    them). `first` (a membership, e.g. the signed-in one) leads when it is a practitioner; the rest
    by name. `also`: membership ids kept in the list whatever they are now (an invoice's own
    practitioner, so editing it never silently changes who treated the patient)."""
    is_practitioner = Q(role=Role.PRACTITIONER) | Q(practitioner_profile__isnull=False)
    qs = Membership.objects.for_practice(practice).filter(
        (Q(is_active=True, user__is_active=True) & is_practitioner) | Q(pk__in=[i for i in also if i])
    )
    first_id = getattr(first, "pk", None)
    return (
        qs.select_related("user", "practitioner_profile")
        .annotate(leads=Case(When(pk=first_id or 0, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("leads", "user__full_name", "pk")
    )


def open_invitations(*, practice: Practice) -> QuerySet[Invitation]:
    """Invitations not yet accepted or revoked (expired ones too: they can be sent again)."""
    return (
        Invitation.objects.for_practice(practice)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-sent_at", "-id")
    )


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation a link's token opens, found by the token's hash (the token is never stored)."""
    return Invitation.objects.select_related("practice").filter(token_hash=hash_token(token or "")).first()


def account_exists(*, email: str) -> bool:
    """For the invitation link's page only, which the invited person alone can open."""
    return User.objects.filter(email__iexact=email).exists()


def practice_locations(*, practice: Practice) -> QuerySet[Location]:
    return Location.objects.for_practice(practice).order_by("-is_active", "name")


_VERBS = {"+": "added", "~": "changed", "-": "removed"}


def recent_changes(*, practice: Practice, limit: int = 10) -> list[dict]:
    """Latest audit rows for the practice's own settings, newest first, in words."""
    rows = []
    for row in Practice.history.filter(id=practice.id).select_related("history_user")[:limit]:
        rows.append((row, f"Practice details {_VERBS[row.history_type]}"))
    for row in Location.history.filter(practice_id=practice.id).select_related("history_user")[:limit]:
        rows.append((row, f"Location “{row.name}” {_VERBS[row.history_type]}"))
    memberships = Membership.history.filter(practice_id=practice.id).select_related("history_user")[:limit]
    emails = dict(User.objects.filter(pk__in={m.user_id for m in memberships}).values_list("pk", "email"))
    for row in memberships:
        rows.append((row, f"User {emails.get(row.user_id, '?')} {_VERBS[row.history_type]} ({row.get_role_display()})"))
    rows.sort(key=lambda pair: pair[0].history_date, reverse=True)
    return [
        {"when": row.history_date, "who": row.history_user, "what": what, "reason": row.history_change_reason}
        for row, what in rows[:limit]
    ]
