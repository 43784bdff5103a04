from django.urls import path

from quotas.api import views

urlpatterns = [
    path("quotas", views.QuotaListSetApi.as_view(), name="quota-list"),
    path("quotas/spot", views.SpotQuotaSetApi.as_view(), name="quota-spot"),
    path("usage", views.UsageListApi.as_view(), name="usage-list"),
    path("vm-sizes", views.VmSizeListApi.as_view(), name="vm-size-list"),
    path("computes", views.ComputeListCreateApi.as_view(), name="compute-list"),
    path("computes/<str:name>", views.ComputeDetailApi.as_view(), name="compute-detail"),
]
