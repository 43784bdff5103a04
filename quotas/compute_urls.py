"""Compute pages: Serverless and the workspace's named clusters."""

from django.urls import path

from quotas import compute_views

app_name = "compute"

urlpatterns = [
    path("", compute_views.compute_list, name="list"),
    path("create/", compute_views.compute_create, name="create"),
    path("<str:name>/delete/", compute_views.compute_delete, name="delete"),
]
