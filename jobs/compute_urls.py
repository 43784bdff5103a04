"""Pages of this section (placeholder: being built)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

app_name = "compute"


@login_required
def placeholder(request):
    return render(request, "placeholder.html", {"section": "compute"})


urlpatterns = [path("", placeholder, name="list")]
