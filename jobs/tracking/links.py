"""Where the links that the ``mlflow`` client prints lead: a run to its job's page, an experiment to
the jobs list filtered by that experiment.

When a run ends, the client prints (mlflow/mlflow, ``mlflow/tracking/_tracking_service/client.py``,
``TrackingServiceClient._log_url``; ``experiment_url = f"{host_url}/#/experiments/{experiment_id}"``,
``run_url = f"{experiment_url}/runs/{run_id}"``, and since MLflow 3 ``?workspace=<name>`` after
either when the request names an MLflow workspace):

    🏃 View run <run name> at: <MLFLOW_TRACKING_URI>/#/experiments/<experiment id>/runs/<run id>
    🧪 View experiment at: <MLFLOW_TRACKING_URI>/#/experiments/<experiment id>

Those are routes of MLflow's own single-page UI, in the fragment, which never reaches the server:
``/`` lands on the jobs list, whose layout loads ``studio/static/studio/mlflow-links.js``; that reads
``location.hash`` and goes to the routes below, which mirror it (``link_urls.py``). A run id is the
job's name (the job's own run) or a ``TrackingRun`` the job's script created; both open the job.
Both are scoped to the user's workspaces, like the tracking API's reads: anything else is a 404.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from jobs.tracking import selectors
from jobs.tracking.auth import TrackingPrincipal
from jobs.tracking.services import TrackingError


@login_required
@require_GET
def run(request: HttpRequest, experiment_id: str, run_id: str) -> HttpResponse:
    """The run's job page (the run id alone names it; the experiment in the link is not needed)."""
    try:
        ref = selectors.run_get(principal=TrackingPrincipal(user=request.user), run_id=run_id)
    except TrackingError:
        raise Http404(f"no run '{run_id}' in your workspaces") from None
    return redirect(f"{reverse('jobs:detail', args=[ref.job.name])}?{urlencode({'workspace': ref.job.workspace.name})}")


@login_required
@require_GET
def experiment(request: HttpRequest, experiment_id: str) -> HttpResponse:
    """The jobs list of the experiment's workspace, filtered by the experiment."""
    try:
        found = selectors.experiment_get(principal=TrackingPrincipal(user=request.user), experiment_id=experiment_id)
    except TrackingError:
        raise Http404(f"no experiment with id {experiment_id} in your workspaces") from None
    query = urlencode({"workspace": found.workspace.name, "experiment": found.name})
    return redirect(f"{reverse('jobs:list')}?{query}")
