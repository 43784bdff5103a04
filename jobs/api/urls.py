from django.urls import path

from jobs.api import views

urlpatterns = [
    path("jobs", views.JobListCreateApi.as_view(), name="job-list"),
    path("jobs/explain", views.ExplainApi.as_view(), name="job-explain"),
    path("jobs/<str:name>", views.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<str:name>/cancel", views.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<str:name>/evict", views.JobEvictApi.as_view(), name="job-evict"),
    path("jobs/<str:name>/logs", views.JobLogsApi.as_view(), name="job-logs"),
    path("jobs/<str:name>/metrics", views.JobMetricsApi.as_view(), name="job-metrics"),
    path("jobs/<str:name>/outputs", views.JobOutputsApi.as_view(), name="job-outputs"),
    path("jobs/<str:name>/download", views.JobOutputDownloadApi.as_view(), name="job-outputs-all"),
    path("jobs/<str:name>/outputs/<path:path>", views.JobOutputDownloadApi.as_view(), name="job-output-download"),
]
