from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from openpractice.accounts.models import ApiToken, User
from openpractice.accounts.views import admin_login

# The admin (when ADMIN_ENABLED) has no login form of its own: /admin/login/ sends people to the
# app's sign-in, which is throttled and asks for the second factor, then back to the admin.
admin.site.login = admin_login


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin):
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    exclude = ["password"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "practice", "prefix", "created_at", "revoked_at"]
    exclude = ["token_hash"]
