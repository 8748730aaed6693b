import functools

from django.apps import apps
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from openpractice.practices import selectors
from openpractice.practices.roles import Capability


@functools.lru_cache(maxsize=16)
def _entries(script_prefix: str, urlconf) -> tuple[tuple[int, str, str, str], ...]:
    """Every app's entries as (order, label, url, capability), in order: the apps and their
    addresses are fixed once the process has started, so they are gathered and reversed once (per
    script prefix and URLconf), not on every page (issue 18)."""
    entries = []
    for config in apps.get_app_configs():
        for order, label, url_name, capability in getattr(config, "nav_entries", ()):
            try:
                url = reverse(url_name, urlconf=urlconf)
            except NoReverseMatch:
                continue
            entries.append((order, label, url, capability))
    return tuple(sorted(entries))


@receiver(setting_changed)
def _forget_entries(*, setting, **kwargs):
    if setting in ("ROOT_URLCONF", "INSTALLED_APPS"):
        _entries.cache_clear()


def _navigation(request):
    """Main navigation, contributed by each installed app's AppConfig.nav_entries.

    An entry is (order, label, url name, capability); apps add themselves as they are built.
    """
    membership = request.membership
    if membership is None:
        return []
    path = request.path
    return [
        {"label": label, "url": url, "active": path == url or (url != "/" and path.startswith(url))}
        for _, label, url, capability in _entries(get_script_prefix(), get_urlconf())
        if membership.can(capability)
    ]


def practice(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        "current_practice": getattr(request, "practice", None),
        "current_membership": membership,
        # Read with the current one by CurrentPracticeMiddleware (one query for both).
        "user_memberships": getattr(request, "memberships", None)
        or list(selectors.active_memberships(user=request.user)),
        "nav_entries": _navigation(request),
        "can_manage_settings": bool(membership and membership.can(Capability.MANAGE_SETTINGS)),
        "can_manage_users": bool(membership and membership.can(Capability.MANAGE_USERS)),
        "can_manage_integrations": bool(membership and membership.can(Capability.MANAGE_INTEGRATIONS)),
        "can_view_audit": bool(membership and membership.can(Capability.VIEW_AUDIT)),
        "can_manage_collections": bool(membership and membership.can(Capability.MANAGE_COLLECTIONS)),
    }
