"""Job pages (the API lives in jobs/api)."""

from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("<str:name>/", views.job_detail, name="detail"),
    path("<str:name>/cancel/", views.job_cancel, name="cancel"),
]
