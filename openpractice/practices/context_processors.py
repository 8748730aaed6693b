from django.apps import apps
from django.urls import NoReverseMatch, reverse

from openpractice.practices import selectors
from openpractice.practices.roles import Capability


def _navigation(request):
    """Main navigation, contributed by each installed app's AppConfig.nav_entries.

    An entry is (order, label, url name, capability); apps add themselves as they are built.
    """
    entries = []
    for config in apps.get_app_configs():
        for order, label, url_name, capability in getattr(config, "nav_entries", ()):
            if request.membership is None or not request.membership.can(capability):
                continue
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            entries.append((order, label, url))
    entries.sort()
    path = request.path
    return [
        {"label": label, "url": url, "active": path == url or (url != "/" and path.startswith(url))}
        for _, label, url in entries
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
