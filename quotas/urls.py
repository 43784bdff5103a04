"""Quota & usage pages (the API is in quotas/api/urls.py)."""

from django.urls import path

from quotas import views

app_name = "quotas"

urlpatterns = [
    path("", views.usage, name="usage"),
    path("spot/", views.spot, name="spot"),
    path("families/<str:family_id>/", views.family, name="family"),
]
