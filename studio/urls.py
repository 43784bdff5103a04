from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView


def health(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("jobs.api.urls")),
    path("api/v1/", include("quotas.api.urls")),
    path("", include("jobs.tracking.urls")),  # MLflow tracking: /api/2.0/mlflow/..., /api/2.0/mlflow-artifacts/...
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("healthz", health),
]
