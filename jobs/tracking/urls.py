"""The MLflow REST paths, exactly as the ``mlflow`` client calls them (included at the site root)."""

from django.urls import path, re_path

from jobs.tracking import api

mlflow = "api/2.0/mlflow/"

urlpatterns = [
    path(mlflow + "experiments/get-by-name", api.ExperimentGetByNameApi.as_view(), name="mlflow-experiment-get-by-name"),
    path(mlflow + "experiments/get", api.ExperimentGetApi.as_view(), name="mlflow-experiment-get"),
    path(mlflow + "experiments/create", api.ExperimentCreateApi.as_view(), name="mlflow-experiment-create"),
    path(mlflow + "experiments/search", api.ExperimentSearchApi.as_view(), name="mlflow-experiment-search"),
    path(mlflow + "runs/create", api.RunCreateApi.as_view(), name="mlflow-run-create"),
    path(mlflow + "runs/get", api.RunGetApi.as_view(), name="mlflow-run-get"),
    path(mlflow + "runs/update", api.RunUpdateApi.as_view(), name="mlflow-run-update"),
    path(mlflow + "runs/log-metric", api.LogMetricApi.as_view(), name="mlflow-log-metric"),
    path(mlflow + "runs/log-parameter", api.LogParamApi.as_view(), name="mlflow-log-param"),
    path(mlflow + "runs/set-tag", api.SetTagApi.as_view(), name="mlflow-set-tag"),
    path(mlflow + "runs/delete-tag", api.DeleteTagApi.as_view(), name="mlflow-delete-tag"),
    path(mlflow + "runs/log-batch", api.LogBatchApi.as_view(), name="mlflow-log-batch"),
    path(mlflow + "runs/search", api.RunSearchApi.as_view(), name="mlflow-run-search"),
    path(mlflow + "runs/log-inputs", api.AcceptedIgnoredApi.as_view(), name="mlflow-log-inputs"),
    path(mlflow + "runs/outputs", api.AcceptedIgnoredApi.as_view(), name="mlflow-log-outputs"),
    path(mlflow + "runs/log-model", api.AcceptedIgnoredApi.as_view(), name="mlflow-log-model"),
    path(mlflow + "metrics/get-history", api.MetricHistoryApi.as_view(), name="mlflow-metric-history"),
    re_path(r"^api/2\.0/mlflow/logged-models(?P<rest>/.*)?$", api.logged_models_not_implemented),
    re_path(r"^api/[23]\.0/mlflow/(?P<rest>.*)$", api.endpoint_not_found),
    path("api/2.0/mlflow-artifacts/artifacts", api.ArtifactListApi.as_view(), name="mlflow-artifact-list"),
    path("api/2.0/mlflow-artifacts/artifacts/<path:path>", api.ArtifactApi.as_view(), name="mlflow-artifact"),
    re_path(r"^api/2\.0/mlflow-artifacts/(?P<rest>.*)$", api.endpoint_not_found),
]
