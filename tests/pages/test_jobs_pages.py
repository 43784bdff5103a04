"""The jobs list, a job's page (status, logs, outputs), cancel, and who may see them."""

from __future__ import annotations

import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs import services
from jobs.lifecycle import Outcome, Status
from jobs.models import Job, Node
from jobs.scheduling.service import schedule_cycle
from jobs.specs import load_command_job
from jobs.tracking import services as tracking_services
from quotas import services as quota_services
from tests.jobs.helpers import with_environment

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def submit(user, workspace, text="command: echo hi\n"):
    text = with_environment(text)
    return services.job_submit(user=user, workspace=workspace, spec=load_command_job(text), spec_yaml=text)


def admit(job):
    """Run a scheduling cycle (what the commit of a submission starts) and reload the job."""
    schedule_cycle()
    job.refresh_from_db()
    return job


def start(job):
    """What a worker reports: it claimed the job's nodes and they run."""
    for node in Node.objects.filter(job=job):
        services.node_claim(node_id=node.id, worker="w")
        services.node_phase(node_id=node.id, status=Status.RUNNING)
    job.refresh_from_db()
    return job


def finish(job, status=Status.COMPLETED, exit_code=0, kind="", message=""):
    start(job)
    for node in Node.objects.filter(job=job):
        services.node_exited(node_id=node.id, outcome=Outcome(status, exit_code, kind, message))
    job.refresh_from_db()
    return job


def names(response):
    return [job.name for job in response.context["jobs"]]


@pytest.fixture
def client_in(client, user, workspace, data_dir):
    client.force_login(user)
    return client


@pytest.fixture
def grace(django_user_model, workspace):
    """A second member of ws-1."""
    from quotas.services import workspace_ensure

    grace = django_user_model.objects.create_user(username="grace", password="pw-grace-123")
    workspace_ensure(subscription_name="sub-1", workspace_name="ws-1", admin=grace)
    return grace


@pytest.fixture
def stranger_job(django_user_model, catalogue, data_dir):
    """A job in a workspace that ada is not a member of."""
    from quotas.services import workspace_ensure

    eve = django_user_model.objects.create_user(username="eve", password="pw-eve-123")
    other = workspace_ensure(subscription_name="sub-2", workspace_name="ws-2", admin=eve)
    return submit(eve, other, "name: eves-job\ncommand: echo secret\n")


# --- list --------------------------------------------------------------------------------------


def test_it_lists_the_jobs_of_the_current_workspace_with_their_columns(client_in, user, workspace, stranger_job):
    job = submit(user, workspace, "name: run-1\ndisplay_name: First run\nexperiment_name: mnist\ncommand: echo hi\n")
    response = client_in.get("/jobs/")
    assert response.status_code == 200
    assert names(response) == ["run-1"]
    row = re.search(r'<tr id="job-row-run-1".*?</tr>', response.content.decode(), re.S).group(0)
    assert '<a class="mono" href="/jobs/run-1/">run-1</a>' in row
    for text in ["First run", '<span class="badge tone-waiting">NotStarted</span>', "<td>command</td>",
                 "serverless", "<td>ada</td>", "<td>mnist</td>", job.created_at.strftime("%H:%M:%S")]:
        assert text in row
    assert response.context["section"] == "jobs"


def test_it_shows_the_vm_size_and_duration_once_a_job_has_run(client_in, user, workspace):
    job = finish(admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n")))
    html = client_in.get("/jobs/").content.decode()
    assert f'<div class="muted small">{job.instance_type}</div>' in html
    assert re.search(r'<td class="num">\d[\d.]* m?s</td>', html)


def test_it_filters_by_status_type_compute_submitter_and_experiment(client_in, user, grace, workspace):
    quota_services.cluster_create(user=user, workspace=workspace, name="cpu-cluster", size="Standard_D2s_v3")
    submit(user, workspace, "name: alpha\nexperiment_name: exp-a\ncommand: echo a\n")
    services.job_cancel(job=submit(user, workspace, "name: beta\nexperiment_name: exp-b\ncommand: echo b\n"), user=user)
    submit(grace, workspace, "name: gamma\nexperiment_name: exp-a\ncommand: echo g\n")
    submit(user, workspace, "name: delta\ncompute: azureml:cpu-cluster\ncommand: echo d\n")

    assert names(client_in.get("/jobs/", {"status": "Canceled"})) == ["beta"]
    assert names(client_in.get("/jobs/", {"experiment": "exp-a"})) == ["gamma", "alpha"]
    assert names(client_in.get("/jobs/", {"submitted_by": "grace"})) == ["gamma"]
    assert names(client_in.get("/jobs/", {"compute": "cpu-cluster"})) == ["delta"]
    assert names(client_in.get("/jobs/", {"type": "command"})) == ["delta", "gamma", "beta", "alpha"]
    assert names(client_in.get("/jobs/", {"experiment": "exp-a", "submitted_by": "ada"})) == ["alpha"]

    response = client_in.get("/jobs/", {"type": "sweep"})
    assert names(response) == [] and "No jobs match these filters" in response.content.decode()
    html = client_in.get("/jobs/", {"compute": "cpu-cluster"}).content.decode()
    assert '<option value="cpu-cluster" selected>' in html and '<option value="grace">' in html
    assert '<option value="Queued">' in html  # every status can be chosen


def test_it_searches_names_display_names_and_descriptions(client_in, user, workspace):
    submit(user, workspace, "name: run-1\ndisplay_name: Train the ResNet\ncommand: echo 1\n")
    submit(user, workspace, "name: run-2\ndescription: a quick resnet check\ncommand: echo 2\n")
    submit(user, workspace, "name: other-3\ncommand: echo 3\n")
    assert names(client_in.get("/jobs/", {"search": "resnet"})) == ["run-2", "run-1"]
    assert names(client_in.get("/jobs/", {"search": "other"})) == ["other-3"]
    assert 'value="resnet"' in client_in.get("/jobs/", {"search": "resnet"}).content.decode()


def test_it_pages_25_jobs_at_a_time_and_keeps_the_filters(client_in, user, workspace):
    for i in range(30):
        submit(user, workspace, f"name: bulk-{i:02d}\nexperiment_name: bulk\ncommand: echo {i}\n")
    submit(user, workspace, "name: elsewhere\ncommand: echo x\n")
    first = client_in.get("/jobs/", {"experiment": "bulk"})
    assert names(first) == [f"bulk-{i:02d}" for i in range(29, 4, -1)]
    html = first.content.decode()
    assert "Page 1 of 2" in html and 'href="?experiment=bulk&amp;page=2"' in html
    assert "30 jobs match" in html
    second = client_in.get("/jobs/", {"experiment": "bulk", "page": "2"})
    assert names(second) == [f"bulk-{i:02d}" for i in range(4, -1, -1)]
    assert 'href="?experiment=bulk&amp;page=1"' in second.content.decode()
    assert names(client_in.get("/jobs/", {"experiment": "bulk", "page": "99"})) == names(second)
    assert names(client_in.get("/jobs/", {"experiment": "bulk", "page": "x"})) == names(first)


def test_it_answers_htmx_with_the_rows_only_and_polls_while_a_job_is_not_done(client_in, user, workspace):
    jobs = [submit(user, workspace, f"name: run-{i}\ncommand: echo {i}\n") for i in range(2)]
    response = client_in.get("/jobs/", {"experiment": "Default"}, HTTP_HX_TARGET="job-rows", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<tbody id="job-rows" hx-get="/jobs/?experiment=Default" hx-trigger="every 2s" '
                                    'hx-target="#job-rows" hx-swap="outerHTML">')
    assert "<html" not in html and "<thead" not in html and html.count("<tr ") == 2

    services.job_cancel(job=jobs[0], user=user)
    assert "every 2s" in client_in.get("/jobs/", **HTMX).content.decode()
    services.job_cancel(job=jobs[1], user=user)
    html = client_in.get("/jobs/", **HTMX).content.decode()
    assert "hx-trigger" not in html and html.count('class="badge tone-stopped">Canceled') == 2
    assert "hx-trigger" not in client_in.get("/jobs/").content.decode()


def test_the_list_takes_the_same_number_of_queries_for_3_jobs_as_for_30(client_in, user, grace, workspace,
                                                                       django_assert_max_num_queries):
    def count_queries():
        client_in.get("/jobs/")  # the session settles on the first request
        with CaptureQueriesContext(connection) as queries:
            assert client_in.get("/jobs/").status_code == 200
        with CaptureQueriesContext(connection) as partial:
            assert client_in.get("/jobs/", **HTMX).status_code == 200
        return len(queries), len(partial)

    for i in range(3):
        submit(user if i % 2 else grace, workspace, f"name: few-{i}\nexperiment_name: e{i}\ncommand: echo {i}\n")
    few = count_queries()
    for i in range(27):
        submit(user if i % 2 else grace, workspace, f"name: many-{i}\nexperiment_name: e{i}\ncommand: echo {i}\n")
    many = count_queries()
    assert few == many
    with django_assert_max_num_queries(many[0]):
        client_in.get("/jobs/")


def test_it_shows_an_empty_state_with_a_way_to_submit(client_in):
    html = client_in.get("/jobs/").content.decode()
    assert "No jobs yet" in html
    assert '<a class="button primary" href="/submit/">Submit a job</a>' in html
    assert "studio job create --file job.yml --stream" in html
    assert 'id="job-rows"' not in html and 'class="card filters' not in html
    assert 'turn on <a href="/previews/">Serverless compute</a>' in html  # the preview is off by default


# --- detail ------------------------------------------------------------------------------------


def test_it_shows_a_jobs_overview_system_log_and_yaml(client_in, user, workspace):
    job = submit(user, workspace, "name: run-1\ndisplay_name: First run\ncommand: echo hi\n")
    response = client_in.get("/jobs/run-1/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>First run</h1>" in html
    assert '<span class="badge tone-waiting" data-testid="job-status">NotStarted</span>' in html
    assert 'href="/submit/?clone=run-1">Clone into wizard</a>' in html
    assert 'action="/jobs/run-1/cancel/"' in html and "Cancel job" in html
    assert "submitted by ada to serverless compute" in html
    assert '<pre class="yaml">environment: azureml:AzureML-sklearn-1.0' in html and "echo hi" in html
    assert "None. Sweep trials and pipeline steps are listed here." in html
    assert 'hx-trigger="every 2s" hx-target="#job-status"' in html
    assert job.name in html and response.context["section"] == "jobs"


def test_it_shows_the_yaml_from_the_spec_when_no_text_was_kept(client_in, user, workspace):
    spec = load_command_job(with_environment("name: run-1\ncommand: echo from-spec\n"))
    services.job_submit(user=user, workspace=workspace, spec=spec)
    html = client_in.get("/jobs/run-1/").content.decode()
    assert re.search(r'<pre class="yaml">[^<]*command: echo from-spec', html)


def test_it_says_why_a_job_waits_with_its_position_and_estimated_start(client_in, user, workspace, set_quota):
    set_quota("standardDSv3Family", 2)
    text = "command: echo hi\nresources:\n  instance_type: Standard_D2s_v3\n"
    admit(submit(user, workspace, "name: first\n" + text))
    waiting = admit(submit(user, workspace, "name: second\n" + text))
    assert waiting.status == Status.QUEUED
    html = client_in.get("/jobs/second/").content.decode()
    notice = re.search(r'data-testid="job-waiting">(.*?)</div>', html, re.S).group(1)
    assert '<span class="badge tone-waiting mono" title="reason code">QuotaBusy</span>' in notice
    assert waiting.pending_reason in notice and "position 1 in the queue" in notice
    assert "no estimate: the running job it waits for has no time limit and no history" in notice
    listed = client_in.get("/jobs/", {"waiting": "QuotaBusy"})
    assert names(listed) == ["second"]
    assert '<option value="QuotaBusy" selected>QuotaBusy</option>' in listed.content.decode()
    assert names(client_in.get("/jobs/", {"waiting": "SpotPoolBusy"})) == []


def test_it_shows_the_vm_size_its_reason_and_timeline_once_admitted(client_in, user, workspace):
    job = admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n"))
    html = client_in.get("/jobs/run-1/").content.decode()
    assert f'<span class="mono">{job.instance_type}</span>' in html
    assert job.instance_type_reason in html
    steps = re.findall(r'<li class="([\w-]+)" data-status="(\w+)"', html)
    assert steps == [("done", "NotStarted"), ("skipped", "Queued"), ("current", "Provisioning"),
                     ("upcoming", "Preparing"), ("upcoming", "Running"), ("upcoming", "Finalizing")]


def test_it_shows_the_error_and_exit_code_of_a_failed_job(client_in, user, workspace):
    finish(admit(submit(user, workspace, "name: run-1\ncommand: exit 7\n")), Status.FAILED, 7, "user",
           "the command exited with code 7")
    response = client_in.get("/jobs/run-1/")
    html = response.content.decode()
    assert "User error · exit code 7" in html and "the command exited with code 7" in html
    assert "Cancel job" not in html and "hx-trigger" not in html
    steps = re.findall(r'<li class="([\w-]+)" data-status="(\w+)"', html)
    assert steps == [("done", "NotStarted"), ("skipped", "Queued"), ("done", "Provisioning"), ("done", "Preparing"),
                     ("failed", "Running"), ("not-reached", "Finalizing"), ("bad", "Failed")]
    assert '<span class="step-code mono">UserError</span>' in html


def test_it_lists_outputs_with_download_links_and_the_latest_metrics(client_in, user, workspace):
    job = admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n"))
    tracking_services.artifact_write(job=job, path="outputs/model.txt", stream=io.BytesIO(b"weights"))
    tracking_services.metric_log_batch(job=job, metrics=[
        {"key": "loss", "value": 0.5, "timestamp": 1, "step": 0},
        {"key": "loss", "value": 0.25, "timestamp": 2, "step": 1},
        {"key": "accuracy", "value": 0.9, "timestamp": 2, "step": 1},
    ])
    finish(job)
    html = client_in.get("/jobs/run-1/").content.decode()
    link = re.search(r'<a href="([^"]+)" download>outputs/model.txt</a>', html).group(1)
    assert link == "/api/v1/jobs/run-1/outputs/outputs/model.txt"
    download = client_in.get(link)  # the API accepts the page's session
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"weights"
    assert client_in.get("/api/v1/jobs/run-1/outputs/..%2F..%2Fsecret").status_code == 400
    assert 'href="/api/v1/jobs/run-1/download"' in html
    metrics = re.findall(r'<td class="mono">(\w+)</td><td class="num" title="[^"]*">([\d.]+)</td>', html)
    assert metrics == [("accuracy", "0.9"), ("loss", "0.25")]


def test_it_answers_htmx_with_the_status_and_the_results_out_of_band(client_in, user, workspace):
    job = admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n"))
    html = client_in.get("/jobs/run-1/", HTTP_HX_TARGET="job-status", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="job-status" class="job-status" hx-get="/jobs/run-1/" '
                                    'hx-trigger="every 2s"')
    assert '<div id="job-results" class="job-results" hx-swap-oob="true">' in html
    assert "<html" not in html and 'class="badge tone-live" data-testid="job-status">Provisioning' in html
    finish(job)
    html = client_in.get("/jobs/run-1/", HTTP_HX_TARGET="job-status", **HTMX).content.decode()
    assert 'class="badge tone-ok" data-testid="job-status">Completed' in html and "hx-trigger" not in html


def test_the_log_partial_returns_text_after_the_offset_and_the_next_offset(client_in, user, workspace):
    job = admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n"))
    node = Node.objects.get(job=job)
    services.node_log_append(node_id=node.id, text="hello\n")
    services.node_log_append(node_id=node.id, text="<world>\n")

    def tail(offset):
        response = client_in.get("/jobs/run-1/", {"offset": offset}, HTTP_HX_TARGET="job-log", **HTMX)
        assert response.status_code == 200
        text, poller = response.content.decode().split('<div id="job-log-poller"', 1)
        next_offset = re.search(r'data-offset="(\d+)"', poller).group(1)
        return text, int(next_offset), poller

    text, next_offset, poller = tail(0)
    assert (text, next_offset) == ("hello\n&lt;world&gt;\n", 14)
    assert 'hx-swap-oob="true"' in poller and 'hx-trigger="every 1s"' in poller
    assert 'hx-get="/jobs/run-1/?node=0&amp;offset=14&amp;attempt=1"' in poller
    assert tail(6)[:2] == ("&lt;world&gt;\n", 14)
    assert tail(14)[:2] == ("", 14)

    page = client_in.get("/jobs/run-1/").content.decode()
    assert '<pre class="log" id="job-log"' in page and ">\nhello\n&lt;world&gt;\n</pre>" in page
    assert 'offset=14&amp;attempt=1" hx-trigger="every 1s" hx-target="#job-log" hx-swap="beforeend"' in page

    services.node_log_append(node_id=node.id, text="bye\n")
    finish(job)
    text, next_offset, poller = tail(14)
    assert (text, next_offset) == ("bye\n", 18)
    assert "hx-trigger" not in poller and "End of log · the job is Completed." in poller


def test_the_log_partial_refuses_a_bad_offset_and_reloads_after_a_restart(client_in, user, workspace):
    admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n"))
    response = client_in.get("/jobs/run-1/", {"offset": "-3"}, HTTP_HX_TARGET="job-log", **HTMX)
    assert response.status_code == 400 and b"offset: expected a whole number" in response.content
    response = client_in.get("/jobs/run-1/", {"offset": "0", "attempt": "2"}, HTTP_HX_TARGET="job-log", **HTMX)
    assert response["HX-Refresh"] == "true"  # the page shows another attempt's log: it starts over
    # a page opened before the job was first admitted goes on with the first attempt's log
    response = client_in.get("/jobs/run-1/", {"offset": "0", "attempt": "0"}, HTTP_HX_TARGET="job-log", **HTMX)
    assert response.status_code == 200 and "HX-Refresh" not in response


def test_it_offers_a_node_selector_for_a_multi_node_job(client_in, user, workspace):
    job = admit(submit(user, workspace, "name: run-1\ncommand: echo hi\nresources:\n  instance_count: 2\n"))
    nodes = {n.index: n for n in Node.objects.filter(job=job)}
    services.node_log_append(node_id=nodes[0].id, text="from node 0\n")
    services.node_log_append(node_id=nodes[1].id, text="from node 1\n")
    html = client_in.get("/jobs/run-1/").content.decode()
    assert 'href="?node=0#logs" aria-current="true">Node 0</a>' in html and 'href="?node=1#logs">Node 1</a>' in html
    assert "from node 0" in html and "from node 1" not in html
    html = client_in.get("/jobs/run-1/", {"node": "1"}).content.decode()
    assert "from node 1" in html and "node=1&amp;offset=12" in html
    assert "from node 0" in client_in.get("/jobs/run-1/", {"node": "7"}).content.decode()


def test_a_single_node_job_has_no_node_selector(client_in, user, workspace):
    submit(user, workspace, "name: run-1\ncommand: echo hi\n")
    assert 'aria-label="Nodes"' not in client_in.get("/jobs/run-1/").content.decode()


# --- cancel ------------------------------------------------------------------------------------


def test_it_cancels_a_job_from_its_page_and_says_so(client_in, user, workspace):
    submit(user, workspace, "name: run-1\ncommand: echo hi\n")
    response = client_in.post("/jobs/run-1/cancel/", follow=True)
    assert response.redirect_chain == [("/jobs/run-1/", 302)]
    assert Job.objects.get(name="run-1").status == Status.CANCELED
    html = response.content.decode()
    assert "Job run-1 was canceled." in html and "Cancel job" not in html


def test_it_shows_why_a_cancel_is_refused_instead_of_failing(client_in, user, workspace):
    finish(admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n")))
    response = client_in.post("/jobs/run-1/cancel/", follow=True)
    assert response.status_code == 200
    assert "job &#x27;run-1&#x27; has already ended (Completed); there is nothing to cancel" in response.content.decode()
    htmx = client_in.post("/jobs/run-1/cancel/", **HTMX).content.decode()
    assert '<p class="notice bad" role="status">job &#x27;run-1&#x27; has already ended' in htmx


def test_it_asks_a_running_job_to_stop_with_htmx(client_in, user, workspace):
    start(admit(submit(user, workspace, "name: run-1\ncommand: sleep 100\n")))
    html = client_in.post("/jobs/run-1/cancel/", HTTP_HX_TARGET="job-status", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="job-status"')
    assert "Cancel requested: the job&#x27;s nodes stop within seconds." in html
    assert 'class="badge tone-stopped" data-testid="job-status">CancelRequested' in html and "Canceling…" in html
    assert Job.objects.get(name="run-1").status == Status.CANCEL_REQUESTED


def test_cancel_only_accepts_post(client_in, user, workspace):
    submit(user, workspace, "name: run-1\ncommand: echo hi\n")
    assert client_in.get("/jobs/run-1/cancel/").status_code == 405
    assert Job.objects.get(name="run-1").status == Status.NOT_STARTED


# --- access ------------------------------------------------------------------------------------


def test_a_job_of_another_workspace_is_not_found(client_in, stranger_job):
    assert client_in.get("/jobs/eves-job/").status_code == 404
    assert client_in.get("/jobs/eves-job/", {"offset": 0}, HTTP_HX_TARGET="job-log", **HTMX).status_code == 404
    assert client_in.get("/jobs/eves-job/", HTTP_HX_TARGET="job-status", **HTMX).status_code == 404
    assert client_in.post("/jobs/eves-job/cancel/").status_code == 404
    assert Job.objects.get(name="eves-job").status == Status.NOT_STARTED
    assert client_in.get("/jobs/no-such-job/").status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client, user, workspace, data_dir):
    submit(user, workspace, "name: run-1\ncommand: echo hi\n")
    for response in (client.get("/jobs/"), client.get("/jobs/run-1/"), client.post("/jobs/run-1/cancel/")):
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert Job.objects.get(name="run-1").status == Status.NOT_STARTED


def test_it_leaves_the_display_name_out_when_it_only_repeats_the_name(client_in, user, workspace):
    submit(user, workspace, "name: run-1\ncommand: echo hi\n")  # the display name defaults to the name
    row = re.search(r'<tr id="job-row-run-1".*?</tr>', client_in.get("/jobs/").content.decode(), re.S).group(0)
    assert row.count("run-1<") == 1 and '<span class="muted">—</span>' in row


def test_it_shows_metric_values_as_people_read_them(client_in, user, workspace):
    job = admit(submit(user, workspace, "name: run-1\ncommand: echo hi\n"))
    tracking_services.metric_log_batch(job=job, metrics=[
        {"key": "accuracy", "value": 0.7290000000000001, "timestamp": 1, "step": 0}])
    html = client_in.get("/jobs/run-1/").content.decode()
    assert '<td class="num" title="0.7290000000000001">0.729</td>' in html


def test_it_shows_where_a_rejected_job_stopped_and_why(client_in, user, workspace, set_quota):
    set_quota("standardDSv3Family", 2)
    job = submit(user, workspace, "name: big\ncommand: echo hi\nresources:\n  instance_type: Standard_D2s_v3\n"
                                  "  instance_count: 1\n")
    Job.objects.filter(id=job.id).update(instance_count=3)  # quota changed under it since it was submitted
    admit(job)
    html = client_in.get("/jobs/big/").content.decode()
    steps = re.findall(r'<li class="([\w-]+)" data-status="(\w+)"', html)
    assert steps[0] == ("failed", "NotStarted") and steps[-1] == ("bad", "Failed")
    assert '<span class="step-code mono">ExceedsQuota</span>' in html and "Rejected" in html
