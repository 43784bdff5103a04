"""The pages behind the links the ``mlflow`` client prints (see links.py); mounted at ``mlflow/``,
they mirror MLflow's UI routes ``#/experiments/<id>`` and ``#/experiments/<id>/runs/<run id>``."""

from django.urls import path

from jobs.tracking import links

app_name = "mlflow-links"

urlpatterns = [
    path("experiments/<str:experiment_id>/", links.experiment, name="experiment"),
    path("experiments/<str:experiment_id>/runs/<str:run_id>/", links.run, name="run"),
]
