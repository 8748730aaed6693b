from django.urls import path

from openpractice.onboarding import views

app_name = "onboarding"

urlpatterns = [path("onboarding/new/", views.new, name="new")]
