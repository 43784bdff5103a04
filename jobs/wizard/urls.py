"""The job-submission wizard (mounted at /submit/)."""

from django.urls import path

from jobs.wizard import code_views, views

app_name = "wizard"

urlpatterns = [
    path("", views.start, name="start"),
    path("<slug:run>/review/", views.review, name="review"),
    path("<slug:run>/review/fit/", views.fit_panel, name="fit-panel"),
    path("<slug:run>/compute/fit/", views.compute_fit, name="compute-fit"),
    path("<slug:run>/compute/sizes/", views.vm_sizes, name="vm-sizes"),
    path("<slug:run>/code/rows/<slug:table>/", code_views.code_row, name="code-row"),
    path("<slug:run>/code/check/", code_views.code_check, name="code-check"),
    path("<slug:run>/job.yml", views.download, name="download"),
    path("<slug:run>/submit/", views.submit, name="submit"),
    path("<slug:run>/<slug:step>/", views.step, name="step"),
]
