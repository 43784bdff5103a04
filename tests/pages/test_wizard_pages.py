"""The job-submission wizard at /submit/: steps, validation, uploads, the "Will it fit?" panels,
submission, cloning. Plain POST + redirect (no JavaScript); htmx requests get the partials."""

from __future__ import annotations

import html
import io
import re
import tarfile
import zipfile

import pytest
from django.urls import reverse

from jobs import services, storage
from jobs.models import Job
from jobs.specs import load_command_job
from jobs.wizard import runs
from previews.registry import SERVERLESS
from previews.services import preview_set
from quotas.models import Cluster

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_in(client, user, workspace, data_dir):
    client.force_login(user)
    return client


@pytest.fixture
def serverless(user):
    preview_set(user=user, key=SERVERLESS, enabled=True)


@pytest.fixture
def cluster(user, workspace):
    return Cluster.objects.create(workspace=workspace, name="cpu-cluster", size_id="Standard_DS3_v2",
                                  max_instances=2, created_by=user)


def text(response) -> str:
    """The page's text as a user reads it (entities decoded)."""
    return html.unescape(response.content.decode())


def start(client, query: str = "") -> str:
    response = client.get("/submit/" + query)
    assert response.status_code == 302, text(response)
    match = re.fullmatch(r"/submit/([0-9a-f]{16})/basics/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def url(run: str, step: str) -> str:
    if step == "review":
        return reverse("wizard:review", kwargs={"run": run})
    return reverse("wizard:step", kwargs={"run": run, "step": step})


def post(client, run, step, data, files=None):
    return client.post(url(run, step), {**data, **(files or {})})


def code_data(command: str, literals=(), data=(), initial_data: int = 0, outputs=(), env=(), **extra) -> dict:
    """The code step's POST: the command, its tables' management forms and rows, other fields."""
    body = {"command": command, "timeout": "", "distribution_type": "", "process_count_per_instance": "",
            "worker_count": "", **extra}
    tables = {"literals": [dict(zip(("name", "type", "value"), row)) for row in literals], "data": list(data),
              "outputs": [dict(zip(("name", "type", "mode"), row)) for row in outputs],
              "env": [dict(zip(("name", "value"), row)) for row in env]}
    for table, rows in tables.items():
        body |= {f"{table}-TOTAL_FORMS": str(len(rows)),
                 f"{table}-INITIAL_FORMS": str(initial_data if table == "data" else 0)}
        for index, row in enumerate(rows):
            body |= {f"{table}-{index}-{key}": value for key, value in row.items()}
    return body


def upload(name: str, data: bytes) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


SERVERLESS_AUTO = {"compute_type": "serverless", "tier": "Standard", "instance_type": "", "instance_count": "1"}


def walk_to_code(client, run, *, basics=None, compute=None, env=None):
    assert post(client, run, "basics", basics or {"name": "", "experiment_name": "wizard-tests"}).status_code == 302
    assert post(client, run, "compute", compute or SERVERLESS_AUTO).status_code == 302
    response = post(client, run, "environment", env or {"env_kind": "reference",
                                                        "curated": "azureml:AzureML-sklearn-1.5@latest"})
    assert response.status_code == 302
    return response


def walk_to_review(client, run, command="echo hello", **kwargs):
    walk_to_code(client, run, **kwargs)
    response = post(client, run, "code", code_data(command))
    assert response["Location"] == url(run, "review"), text(response)


def session_state(client, run):
    return client.session[runs.SESSION_KEY][run]["state"]


# Access and steps ---------------------------------------------------------------------------

def test_anonymous_users_are_sent_to_sign_in(client, user, workspace, data_dir):
    response = client.get("/submit/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/submit/"
    assert client.get("/submit/0123456789abcdef/basics/")["Location"].startswith("/accounts/login/")


def test_it_starts_a_run_on_the_basics_step_with_the_steps_bar(client_in):
    run = start(client_in)
    response = client_in.get(url(run, "basics"))
    assert response.status_code == 200
    page = text(response)
    assert '<li class="current" aria-current="step">Basics</li>' in page
    assert "<li class=\"\">Compute</li>" in page  # not done yet: not a link
    assert 'name="name"' in page and 'name="tags"' in page


def test_later_steps_wait_for_the_earlier_ones(client_in):
    run = start(client_in)
    assert client_in.get(url(run, "code"))["Location"] == url(run, "basics")
    assert client_in.get(url(run, "review"))["Location"] == url(run, "basics")


def test_done_steps_are_links_in_the_steps_bar(client_in, serverless):
    run = start(client_in)
    post(client_in, run, "basics", {"name": "linked"})
    page = text(client_in.get(url(run, "compute")))
    assert f'<li class="done"><a href="{url(run, "basics")}">Basics</a></li>' in page
    assert client_in.get(url(run, "basics")).context["form"]["name"].value() == "linked"


def test_two_runs_do_not_clash(client_in):
    first, second = start(client_in), start(client_in)
    assert first != second
    post(client_in, first, "basics", {"name": "first-job"})
    post(client_in, second, "basics", {"name": "second-job"})
    assert session_state(client_in, first)["spec"]["name"] == "first-job"
    assert session_state(client_in, second)["spec"]["name"] == "second-job"


def test_an_unknown_run_starts_a_new_one(client_in):
    response = client_in.get("/submit/0123456789abcdef/basics/", follow=True)
    assert "That wizard run has ended" in text(response)


# Compute: the preview -----------------------------------------------------------------------

def test_without_the_preview_only_clusters_are_offered(client_in, cluster):
    run = start(client_in)
    post(client_in, run, "basics", {})
    response = client_in.get(url(run, "compute"))
    page = text(response)
    assert 'value="serverless"' not in page
    assert "Serverless compute is a preview." in page
    assert f'href="{reverse("previews:manage")}"' in page
    assert 'value="cpu-cluster"' in page
    # posting serverless anyway is refused
    response = post(client_in, run, "compute", SERVERLESS_AUTO)
    assert response.status_code == 200
    assert "turn it on under Manage previews" in text(response)
    response = post(client_in, run, "compute", {"compute_type": "cluster", "cluster": "cpu-cluster",
                                                "instance_count": "2"})
    assert response.status_code == 302
    assert session_state(client_in, run)["spec"]["compute"] == "azureml:cpu-cluster"
    post(client_in, run, "environment", {"env_kind": "image", "image": "python:3.11-slim"})
    post(client_in, run, "code", code_data("echo on a cluster"))
    page = text(client_in.get(url(run, "review")))
    assert 'Cluster <span class="mono">cpu-cluster</span>' in page
    assert "running on cluster 'cpu-cluster' (Standard_DS3_v2): scaling up by 2 nodes" in page


def test_without_the_preview_and_clusters_it_says_how_to_get_either(client_in):
    run = start(client_in)
    post(client_in, run, "basics", {})
    page = text(client_in.get(url(run, "compute")))
    assert "This workspace has no compute cluster" in page and "Manage previews" in page
    response = post(client_in, run, "compute", {"compute_type": "cluster", "instance_count": "1"})
    assert "this workspace has no compute cluster" in text(response)


def test_with_the_preview_serverless_is_the_default(client_in, serverless):
    run = start(client_in)
    post(client_in, run, "basics", {})
    response = client_in.get(url(run, "compute"))
    page = text(response)
    assert re.search(r'value="serverless" checked', page)
    assert re.search(r'name="tier" value="Standard" checked', page)
    assert re.search(r'id="size-automatic" value="" checked', page)
    assert "Automatic (recommended)" in page
    # the VM table shows vCPUs, memory, price and the quota still free next to each size
    row = re.search(r'<tr class="">\s*<td><input type="radio" name="instance_type" id="size-Standard_D4s_v3".*?</tr>',
                    page, re.S).group(0)
    assert ">4<" in row and "16 GiB" in row and "$0.192/h" in row and "20 vCPUs" in row and "fits 5 nodes" in row
    # and the panel says where it would run, before anything is saved
    assert response.context["fit"].verdict == "starts"
    assert "Starts now" in page


def test_spot_shows_the_spot_pools_free_vcpus(client_in, serverless, set_quota):
    set_quota("spot", 8)
    run = start(client_in)
    post(client_in, run, "basics", {})
    response = client_in.get(reverse("wizard:vm-sizes", kwargs={"run": run}), {"tier": "Spot", "q": "D4s_v3"}, **HTMX)
    page = text(response)
    assert page.lstrip().startswith('<div id="vm-sizes"')
    assert "Spot quota free" in page and "$0.021/h" in page and "8 vCPUs" in page and "fits 2 nodes" in page
    assert "Standard_E4s_v3" not in page


# Validation: each step re-renders with messages and changes nothing -------------------------

def test_a_bad_name_is_refused_next_to_the_field(client_in):
    run = start(client_in)
    before = session_state(client_in, run)
    response = post(client_in, run, "basics", {"name": "bad name!", "tags": "team=x"})
    assert response.status_code == 200
    assert "'bad name!' is not valid; job names use letters, digits, '-' and '_'" in text(response)
    assert "nothing was saved" in text(response)
    assert response.context["form"]["tags"].value() == "team=x"  # what was typed stays
    assert session_state(client_in, run) == before


def test_a_name_already_taken_is_refused(client_in, user, workspace):
    services.job_submit(user=user, workspace=workspace,
                        spec=load_command_job("command: echo\nenvironment: {image: python}\nname: taken-name\n"))
    run = start(client_in)
    response = post(client_in, run, "basics", {"name": "taken-name"})
    assert "a job named 'taken-name' already exists" in text(response)


@pytest.mark.parametrize("values, message", [
    ({"instance_count": "0"}, "expected an integer ≥ 1, got 0"),
    ({"instance_type": "Standard_D4s_v9"}, "unknown VM size 'Standard_D4s_v9'; did you mean"),
])
def test_compute_problems_are_shown_and_nothing_changes(client_in, serverless, values, message):
    run = start(client_in)
    post(client_in, run, "basics", {})
    before = session_state(client_in, run)
    response = post(client_in, run, "compute", {**SERVERLESS_AUTO, **values})
    assert response.status_code == 200
    assert message in text(response)
    assert session_state(client_in, run) == before
    assert "compute" not in before["done"]


def test_environment_problems_are_shown(client_in, serverless):
    run = start(client_in)
    post(client_in, run, "basics", {})
    post(client_in, run, "compute", SERVERLESS_AUTO)
    response = post(client_in, run, "environment", {"env_kind": "reference", "curated": "other",
                                                    "reference": "no such thing!"})
    assert "is not an environment reference" in text(response)
    assert "environment" not in session_state(client_in, run)["done"]


@pytest.mark.parametrize("command, message", [
    ("", "required; write for example `command: python train.py`"),
    ("python train.py --data ${{inputs.x}}",
     "${{inputs.x}} refers to an input that is not declared under inputs:"),
])
def test_code_step_problems_are_shown_and_nothing_changes(client_in, serverless, command, message):
    run = start(client_in)
    walk_to_code(client_in, run)
    before = session_state(client_in, run)
    response = post(client_in, run, "code", code_data(command))
    assert response.status_code == 200
    assert message in text(response)
    assert session_state(client_in, run) == before


def test_literal_inputs_are_checked_on_their_row(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run)
    response = post(client_in, run, "code", code_data("echo ${{inputs.epochs}}",
                                                      literals=[("epochs", "integer", "ten")]))
    assert "an input of type integer needs a value such as `value: 5`, got 'ten'" in text(response)
    assert response.context["formsets"]["literals"].forms[0].errors["value"]


# The code step: rows, file controls, live re-checks, the new fields ------------------------

def test_it_shows_file_controls_and_a_different_example_in_each_row(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run)
    page = text(client_in.get(url(run, "code")))
    assert len(re.findall(r'class="file-drop( compact)?"', page)) == 2  # the code, and the new data input's row
    assert "Choose your script or archive" in page and "or drop it here" in page
    # without JavaScript: "Add a value" posts, and the step comes back with one more row
    body = code_data("echo", literals=[("", "string", "")], action="add-literals")
    for _ in range(2):
        response = post(client_in, run, "code", body)
        body = {**body, "literals-TOTAL_FORMS": str(int(body["literals-TOTAL_FORMS"]) + 1)}
    placeholders = re.findall(r'name="literals-\d-name"[^>]*placeholder="([^"]+)"', text(response))
    assert placeholders == ["learning_rate", "epochs", "optimizer"]


@pytest.mark.parametrize("table, row", [("literals", ("lr", "number", "0.1")), ("outputs", ("model", "uri_folder", "")),
                                        ("env", ("LOG_LEVEL", "INFO"))])
def test_it_adds_a_row_without_javascript_and_keeps_what_was_typed(client_in, serverless, table, row):
    run = start(client_in)
    walk_to_code(client_in, run)
    before = session_state(client_in, run)
    response = post(client_in, run, "code", code_data("echo typed", **{table: [row]}, action=f"add-{table}"))
    assert response.status_code == 200
    formset = response.context["formsets"][table]
    assert len(formset.forms) == 2
    assert formset.forms[0]["name"].value() == row[0] and formset.forms[1]["name"].value() in (None, "")
    assert response.context["form"]["command"].value() == "echo typed"
    assert "nothing was saved" not in text(response)  # adding a row is not a mistake
    assert session_state(client_in, run) == before


def test_it_adds_a_row_with_htmx_and_counts_it(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run)
    rows = reverse("wizard:code-row", kwargs={"run": run, "table": "env"})
    response = client_in.get(rows, {"env-TOTAL_FORMS": "1"}, **HTMX)
    page = text(response)
    assert page.lstrip().startswith("<tr>") and "<html" not in page
    assert 'name="env-1-name"' in page and 'placeholder="OMP_NUM_THREADS"' in page
    assert re.search(r'<template><input type="hidden" name="env-TOTAL_FORMS" value="2" id="id_env-TOTAL_FORMS" '
                     r'hx-swap-oob="true"></template>', page)
    assert "HX-Request" in response["Vary"]
    assert client_in.get(rows, {"env-TOTAL_FORMS": "1"})["Location"] == url(run, "code")
    assert client_in.get(reverse("wizard:code-row", kwargs={"run": run, "table": "nope"}), **HTMX).status_code == 404


def test_errors_clear_once_the_field_is_fixed(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run)
    response = post(client_in, run, "code", code_data("echo", timeout="soon"))
    page = text(response)
    assert "This step has 1 problem; nothing was saved." in page
    assert '<a href="#id_timeout">Time limit</a>: expected an integer ≥ 1 (seconds)' in page
    assert 'hx-post="/submit/' in page  # from now on each change is re-checked
    check = reverse("wizard:code-check", kwargs={"run": run})
    still = text(client_in.post(check, code_data("echo", timeout="soon"), **HTMX))
    assert "got 'soon'" in still and "This step has 1 problem" in still
    fixed = text(client_in.post(check, code_data("echo", timeout="2h"), **HTMX))
    assert '<div id="code-problems" hx-swap-oob="true">' in fixed and "notice bad" not in fixed
    assert '<div class="field-errors" id="id_timeout_errors" hx-swap-oob="true"></div>' in fixed
    assert "code" not in session_state(client_in, run)["done"]  # checking saves nothing
    # a step that has not shown problems is not re-checked; and without htmx the check is the step
    assert 'hx-post="/submit/' not in text(client_in.get(url(run, "code")))
    assert client_in.post(check, code_data("echo"))["Location"] == url(run, "code")


@pytest.mark.parametrize("extra, field, message", [
    ({"timeout": "2 weeks"}, "timeout", "got '2 weeks'; or write it with a unit, e.g. 90 min"),
    ({"distribution_type": "tensorflow", "process_count_per_instance": "2"}, "process_count_per_instance",
     "distribution type tensorflow does not take process_count_per_instance"),
    ({"distribution_type": "pytorch", "process_count_per_instance": "0"}, "process_count_per_instance",
     "expected an integer ≥ 1, got 0"),
    ({"timeout": "9" * 15}, "timeout", "at most 2,147,483,647"),  # beyond the integer column: not a 500
    ({"distribution_type": "pytorch", "process_count_per_instance": str(2**40)}, "process_count_per_instance",
     "at most 2,147,483,647"),
])
def test_bad_time_limits_and_distributions_are_refused_on_their_field(client_in, serverless, extra, field, message):
    run = start(client_in)
    walk_to_code(client_in, run)
    response = post(client_in, run, "code", code_data("echo", **extra))
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert "code" not in session_state(client_in, run)["done"]


def test_bad_outputs_and_variables_are_refused_on_their_row(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run)
    response = post(client_in, run, "code", code_data("echo", outputs=[("model", "uri_folder", "download")],
                                                      env=[("A", "1"), ("A", "2")]))
    tables = response.context["formsets"]
    assert "'download' is an input mode" in tables["outputs"].forms[0].errors["mode"][0]
    assert tables["env"].forms[1].errors["name"] == ["'A' is declared twice; give each variable its own name"]
    page = text(response)
    assert '<a href="#id_outputs-0-mode">Output 1, mode</a>' in page
    assert '<a href="#id_env-1-name">Environment variable 2, name</a>' in page


EVERYTHING = {"outputs": [("model", "uri_folder", "upload")], "env": [("LOG_LEVEL", "DEBUG"), ("SEED", "7")],
              "timeout": "1h 30m", "distribution_type": "pytorch", "process_count_per_instance": "2"}


def test_variables_time_limit_outputs_and_distribution_go_into_the_job_and_its_yaml(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run, basics={"name": "all-fields"})
    response = post(client_in, run, "code", code_data("python train.py --out ${{outputs.model}}", **EVERYTHING))
    assert response.status_code == 302, text(response)
    page = text(client_in.get(url(run, "review")))
    assert "LOG_LEVEL=DEBUG" in page and "1 h 30 min" in page and "pytorch, 2 processes per node" in page
    assert "model</span> <span class=\"muted\">(uri_folder, upload)" in page
    spec = load_command_job(client_in.get(reverse("wizard:download", kwargs={"run": run})).content.decode())
    assert dict(spec.environment_variables) == {"LOG_LEVEL": "DEBUG", "SEED": "7"}
    assert spec.limits.timeout == 5400
    assert (spec.distribution.type, spec.distribution.process_count_per_instance) == ("pytorch", 2)
    assert (spec.outputs["model"].type, spec.outputs["model"].mode) == ("uri_folder", "upload")
    # back on the step, every field shows what was saved
    code = client_in.get(url(run, "code"))
    assert code.context["form"]["timeout"].value() == "1 h 30 min"
    assert code.context["form"]["distribution_type"].value() == "pytorch"
    assert [f.initial for f in code.context["formsets"]["env"].forms[:2]] == [{"name": "LOG_LEVEL", "value": "DEBUG"},
                                                                             {"name": "SEED", "value": "7"}]
    assert code.context["formsets"]["outputs"].forms[0].initial == {"name": "model", "type": "uri_folder",
                                                                   "mode": "upload"}


# Uploads ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data", [
    ("project.zip", zip_bytes({"project/train.py": b"print('zip')\n", "project/lib/util.py": b"X = 1\n"})),
    ("project.tar.gz", tar_bytes({"project/train.py": b"print('tar')\n", "project/lib/util.py": b"X = 1\n"})),
])
def test_code_archives_become_the_jobs_code_folder(client_in, serverless, name, data):
    run = start(client_in)
    walk_to_code(client_in, run)
    response = post(client_in, run, "code", code_data("python train.py"), {"code": upload(name, data)})
    assert response.status_code == 302, text(response)
    state = session_state(client_in, run)
    assert state["code"] == {"filename": name, "kind": "folder", "path": "project", "files": 2, "bytes": 19}
    assert state["spec"]["code"] == "./src"
    with tarfile.open(runs.code_archive(run)) as archive:
        assert sorted(m.name for m in archive.getmembers() if m.isfile()) == ["lib/util.py", "train.py"]
    assert "Uploaded <strong>" + name in client_in.get(url(run, "code")).content.decode()


def test_a_hostile_archive_is_refused_with_a_clear_message(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run)
    before = session_state(client_in, run)
    evil = tar_bytes({"../../etc/cron.d/evil": b"* * * * * root rm -rf /\n"})
    response = post(client_in, run, "code", code_data("python train.py"), {"code": upload("evil.tar.gz", evil)})
    assert response.status_code == 200
    assert "evil.tar.gz: '../../etc/cron.d/evil' points outside the folder ('..'); the archive was refused" \
        in text(response)
    assert session_state(client_in, run) == before
    assert not runs.code_archive(run).exists()
    assert not runs.staging_dir(run).exists()


def test_a_data_input_is_uploaded_and_used_in_the_command(client_in, serverless):
    run = start(client_in)
    walk_to_code(client_in, run)
    body = code_data("wc -l ${{inputs.iris}}", literals=[("rows", "integer", "3")],
                     data=[{"name": "iris", "original": ""}])
    response = post(client_in, run, "code", body, {"data-0-file": upload("iris.csv", b"a,b\n1,2\n")})
    assert response.status_code == 302, text(response)
    state = session_state(client_in, run)
    assert state["spec"]["inputs"] == {"rows": {"type": "integer", "value": 3},
                                       "iris": {"type": "uri_file", "path": "./iris.csv"}}
    assert runs.input_archive(run, "iris").exists()
    page = text(client_in.get(url(run, "code")))
    assert "${{inputs.rows}}" in page and "${{inputs.iris}}" in page  # the command's help lists the inputs
    # removing the input removes its data
    response = post(client_in, run, "code", code_data("echo ${{inputs.rows}}", literals=[("rows", "integer", "3")],
                                                      data=[{"name": "iris", "original": "iris", "remove": "on"}],
                                                      initial_data=1))
    assert response.status_code == 302, text(response)
    assert not runs.input_archive(run, "iris").exists()


# Review, "Will it fit?" and submission ------------------------------------------------------

def test_review_shows_the_yaml_a_download_and_where_the_job_runs(client_in, serverless):
    run = start(client_in)
    walk_to_review(client_in, run, basics={"name": "reviewed", "experiment_name": "wizard-tests"})
    response = client_in.get(url(run, "review"))
    page = text(response)
    assert '<pre class="yaml">' in page and "command: echo hello" in page
    assert "queue_settings:\n  job_tier: Standard" in page
    assert "Download YAML" in page
    assert "Starts now" in page and "Standard_D2as_v4 × 1" in page and "standardDASv4Family quota left" in page
    assert 'hx-trigger="load, every 30s"' in page  # refreshed when the page loads
    download = client_in.get(reverse("wizard:download", kwargs={"run": run}))
    assert download["Content-Disposition"] == 'attachment; filename="reviewed.yml"'
    assert load_command_job(download.content.decode()).name == "reviewed"


def test_the_fit_panel_answers_htmx_with_the_panel_only(client_in, serverless):
    run = start(client_in)
    walk_to_review(client_in, run)
    response = client_in.get(reverse("wizard:fit-panel", kwargs={"run": run}), **HTMX)
    page = text(response)
    assert page.lstrip().startswith('<section id="fit-panel"')
    assert 'hx-trigger="every 30s"' in page  # no reload loop
    assert "<html" not in page
    # without htmx it is the review page
    assert client_in.get(reverse("wizard:fit-panel", kwargs={"run": run}))["Location"] == url(run, "review")


OVER_QUOTA = {**SERVERLESS_AUTO, "instance_type": "Standard_D4s_v3", "instance_count": "2"}


def test_an_over_quota_choice_shows_the_rejection_before_submit(client_in, serverless, set_quota):
    set_quota("standardDSv3Family", 4)
    run = start(client_in)
    post(client_in, run, "basics", {})
    # on the Compute step: inline (htmx) and with the no-JS "Check" button, without saving
    fit = client_in.get(reverse("wizard:compute-fit", kwargs={"run": run}), OVER_QUOTA, **HTMX)
    assert "Will not run as asked" in text(fit)
    assert "reduce `resources.instance_count` to 1" in text(fit)
    checked = post(client_in, run, "compute", {**OVER_QUOTA, "action": "check"})
    assert checked.status_code == 200 and "reduce `resources.instance_count` to 1" in text(checked)
    assert "compute" not in session_state(client_in, run)["done"]
    # it is not a mistake in the form: the step saves, and Review says it before submitting
    assert post(client_in, run, "compute", OVER_QUOTA).status_code == 302
    post(client_in, run, "environment", {"env_kind": "image", "image": "python:3.11-slim"})
    post(client_in, run, "code", code_data("echo hello"))
    page = text(client_in.get(url(run, "review")))
    assert "Will not run as asked" in page
    assert "at most 1 instance of Standard_D4s_v3 (4 vCPUs each) fit in your standardDSv3Family quota of 4 vCPUs" \
        in page
    assert "reduce `resources.instance_count` to 1" in page
    # submitting anyway: refused, nothing created, the reason and recommendation on the review page
    response = client_in.post(reverse("wizard:submit", kwargs={"run": run}))
    assert response.status_code == 400
    assert "The job was not submitted." in text(response)
    assert "reduce `resources.instance_count` to 1" in text(response)
    assert Job.objects.count() == 0


def test_a_full_run_submits_exactly_one_job_with_the_right_spec(client_in, serverless, user, workspace, data_dir):
    run = start(client_in)
    post(client_in, run, "basics", {"name": "from-the-wizard", "experiment_name": "wizard-tests",
                                    "description": "made by clicking", "tags": "team=vision\nstage=dev"})
    post(client_in, run, "compute", {**SERVERLESS_AUTO, "tier": "Spot", "instance_type": "Standard_D2s_v3"})
    post(client_in, run, "environment", {"env_kind": "reference", "curated": "other",
                                         "reference": "azureml:my-env:3"})
    response = post(client_in, run, "code", code_data("python train.py --lr ${{inputs.lr}}",
                                                      literals=[("lr", "number", "0.01")]),
                    {"code": upload("train.py", b"print('hello')\n")})
    assert response.status_code == 302, text(response)
    response = client_in.post(reverse("wizard:submit", kwargs={"run": run}))
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", kwargs={"name": "from-the-wizard"})
    job = Job.objects.get()
    assert job.submitted_by == user and job.workspace == workspace
    assert job.spec == {
        "$schema": "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json",
        "type": "command", "name": "from-the-wizard", "experiment_name": "wizard-tests",
        "description": "made by clicking", "tags": {"team": "vision", "stage": "dev"}, "code": "./src",
        "command": "python train.py --lr ${{inputs.lr}}", "environment": "azureml:my-env:3",
        "inputs": {"lr": 0.01}, "resources": {"instance_type": "Standard_D2s_v3", "instance_count": 1},
        "queue_settings": {"job_tier": "Spot"},
    }
    assert load_command_job(job.spec_yaml).to_dict() == job.spec
    assert (job.compute, job.tier, job.requested_instance_type) == ("serverless", "Spot", "Standard_D2s_v3")
    assert (storage.code_dir(job.files) / "train.py").read_text() == "print('hello')\n"
    # the run ends: its uploads are gone and submitting again creates nothing
    assert not runs.run_dir(run).exists()
    again = client_in.post(reverse("wizard:submit", kwargs={"run": run}))
    assert again["Location"] == "/submit/"
    assert Job.objects.count() == 1


def test_submit_refusals_are_shown_on_the_review_page(client_in, serverless, user, workspace):
    run = start(client_in)
    walk_to_review(client_in, run, basics={"name": "raced"})
    services.job_submit(user=user, workspace=workspace,
                        spec=load_command_job("command: echo\nenvironment: {image: python}\nname: raced\n"))
    response = client_in.post(reverse("wizard:submit", kwargs={"run": run}))
    assert response.status_code == 400
    assert "a job named 'raced' already exists" in text(response)
    assert f'<a href="{url(run, "basics")}">Change it</a>' in response.content.decode()
    assert Job.objects.count() == 1


def test_submit_only_accepts_post(client_in, serverless):
    run = start(client_in)
    walk_to_review(client_in, run)
    assert client_in.get(reverse("wizard:submit", kwargs={"run": run})).status_code == 405
    assert Job.objects.count() == 0


# Cloning ------------------------------------------------------------------------------------

def test_clone_prefills_every_step_but_not_the_code(client_in, serverless, user, workspace, data_dir):
    run = start(client_in)
    post(client_in, run, "basics", {"name": "original", "experiment_name": "exp-1", "tags": "a=1"})
    post(client_in, run, "compute", {**SERVERLESS_AUTO, "instance_type": "Standard_D4s_v3", "instance_count": "2"})
    post(client_in, run, "environment", {"env_kind": "image", "image": "python:3.12-slim"})
    post(client_in, run, "code", code_data("python train.py ${{inputs.n}}", literals=[("n", "integer", "5")],
                                           env=[("SEED", "7")], timeout="45 min"),
         {"code": upload("train.py", b"print(1)\n")})
    client_in.post(reverse("wizard:submit", kwargs={"run": run}))
    assert Job.objects.filter(name="original").exists()

    clone = start(client_in, "?clone=original")
    page = text(client_in.get(url(clone, "basics")))
    assert "Code is not cloned" in page
    assert 'value="exp-1"' in page and "a=1" in page
    assert 'name="name" value=' not in page  # the name is left empty
    compute = client_in.get(url(clone, "compute"))
    assert compute.context["values"] == {"compute_type": "serverless", "tier": "Standard",
                                         "instance_type": "Standard_D4s_v3", "instance_count": "2", "cluster": ""}
    assert client_in.get(url(clone, "environment")).context["values"]["image"] == "python:3.12-slim"
    code = client_in.get(url(clone, "code"))
    assert code.context["form"]["command"].value() == "python train.py ${{inputs.n}}"
    assert code.context["formsets"]["literals"].forms[0].initial == {"name": "n", "type": "integer", "value": "5"}
    assert "The cloned job's code is not copied" in text(code)
    assert code.context["form"]["timeout"].value() == "45 min"
    assert code.context["formsets"]["env"].forms[0].initial == {"name": "SEED", "value": "7"}
    # the code step is not done until the user has seen it; then it submits a second job
    assert client_in.get(url(clone, "review"))["Location"] == url(clone, "code")
    post(client_in, clone, "basics", {"name": "the-copy", "experiment_name": "exp-1", "tags": "a=1"})
    assert post(client_in, clone, "code", code_data("python -c 'print(${{inputs.n}})'",
                                                    literals=[("n", "integer", "5")], env=[("SEED", "7")],
                                                    timeout="45 min")).status_code == 302
    client_in.post(reverse("wizard:submit", kwargs={"run": clone}))
    copy = Job.objects.get(name="the-copy")
    assert copy.spec["resources"] == {"instance_type": "Standard_D4s_v3", "instance_count": 2}
    assert copy.spec["environment"] == {"image": "python:3.12-slim"}
    assert "code" not in copy.spec
    assert copy.spec["environment_variables"] == {"SEED": "7"} and copy.spec["limits"] == {"timeout": 2700}


def test_clone_of_an_unknown_job_says_so(client_in):
    response = client_in.get("/submit/?clone=nope", follow=True)
    assert "job 'nope' was not found" in text(response)
    assert response.redirect_chain[-1][0].startswith("/submit/")
