from django.urls import path

from previews import views

app_name = "previews"

urlpatterns = [path("", views.manage, name="manage")]
