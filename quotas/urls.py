"""Pages of this section (placeholder: being built)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

app_name = "quotas"


@login_required
def placeholder(request):
    return render(request, "placeholder.html", {"section": "quotas"})


urlpatterns = [path("", placeholder, name="usage")]
