from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from openpractice.practices.models import Location, Membership, Practice


@admin.register(Practice)
class PracticeAdmin(SimpleHistoryAdmin):
    list_display = ["name", "city", "postcode", "created_at"]
    search_fields = ["name"]


@admin.register(Location)
class LocationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "practice", "is_active"]
    list_filter = ["practice"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "practice", "role", "is_active"]
    list_filter = ["role", "practice"]
