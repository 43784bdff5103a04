from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from studio import views


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; the icon is an SVG (base.html links it)."""
    return redirect(static("studio/favicon.svg"))


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="jobs:list", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("jobs/", include("jobs.urls")),
    path("submit/", include("jobs.wizard.urls")),
    path("compute/", include("quotas.compute_urls")),
    path("quota/", include("quotas.urls")),
    path("previews/", include("previews.urls")),
    path("designer/", views.designer, name="designer"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("jobs.api.urls")),
    path("api/v1/", include("quotas.api.urls")),
    path("mlflow/", include("jobs.tracking.link_urls")),  # where the mlflow client's "View run" links lead
    path("", include("jobs.tracking.urls")),  # MLflow tracking: /api/2.0/mlflow/..., /api/2.0/mlflow-artifacts/...
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    path("healthz", views.health),
    path("favicon.ico", favicon),
]

handler400 = "studio.views.bad_request"
handler500 = "studio.views.server_error"
