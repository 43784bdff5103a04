"""The Code step's pages. Thin: the forms read the POST, jobs.wizard.steps.code applies the rules.

- the step itself: a plain POST + redirect; its "Add a row" buttons post `action=add-<table>`,
  which shows the step again with one more empty row of that table (nothing is saved);
- with htmx, those buttons fetch the new row alone (`code_row`), and once the step has shown
  problems, every change re-checks the fields (`code_check`) so that a fixed field's error goes.
"""

from __future__ import annotations

import shutil
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.forms.forms import NON_FIELD_ERRORS
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from jobs.wizard import flow, runs, uploads
from jobs.wizard.forms import DISTRIBUTION_FIELDS, FORMSETS, ROW_FORMS, CodeForm
from jobs.wizard.pages import page, problems_heading, saved, step_url, wizard_run
from jobs.wizard.steps import code

# table -> what a row is called, the table's column headers ("": a hidden "Remove"), its "Add"
# button, and its cells (field, label) when the row is plain cells (the data row has its own partial)
_TABLES = {
    "literals": ("Value", ("Name", "Type", "Value"), "Add a value",
                 (("name", "Name of value"), ("type", "Type of value"), ("value", "Value"))),
    "data": ("Data input", ("Name", "Data", "File", ""), "Add a file or folder", ()),
    "outputs": ("Output", ("Name", "Type", "Mode"), "Add an output",
                (("name", "Name of output"), ("type", "Type of output"), ("mode", "Mode of output"))),
    "env": ("Environment variable", ("Name", "Value"), "Add a variable",
            (("name", "Name of environment variable"), ("value", "Value of environment variable"))),
}
_FORM_FIELDS = ("command", "timeout", *DISTRIBUTION_FIELDS)


def _total(data, table: str) -> int:
    total = str(data.get(f"{table}-TOTAL_FORMS") or "")
    return int(total) if total.isdigit() else 0


def _forms(request, state: dict, *, add: str = ""):
    """The step's form and its tables' formsets: bound to the POST (with one more row of table
    `add`), or prefilled from the run."""
    initial = code.initial(state)
    if request.method != "POST":
        rows = {**initial, "data": [{"name": row["name"], "original": row["original"]} for row in initial["data"]]}
        return initial, CodeForm(initial={key: initial[key] for key in _FORM_FIELDS}), {
            table: FORMSETS[table](prefix=table, initial=rows[table]) for table in code.TABLES}
    data = request.POST
    if add:
        data = data.copy()
        data[f"{add}-TOTAL_FORMS"] = str(_total(data, add) + 1)
    return initial, CodeForm(data, request.FILES), {
        table: FORMSETS[table](data, request.FILES, prefix=table) for table in code.TABLES}


def _valid(form, tables) -> bool:
    return all([form.is_valid(), *(formset.is_valid() for formset in tables.values())])


def _stage(run: str, upload, field: str, problems: list):
    """Convert one uploaded file into a staged .tar.gz: (Upload dict, path), or (None, None) with a
    problem on `field`."""
    if not upload:
        return None, None
    path = runs.staging_dir(run) / f"{uuid.uuid4().hex}.tar.gz"
    try:
        converted = uploads.convert_upload(upload, upload.name, path, max_bytes=settings.STUDIO_CODE_MAX_BYTES,
                                           max_files=settings.STUDIO_CODE_MAX_FILES)
    except uploads.UploadError as exc:
        problems.append(flow.Problem(field, f"{upload.name}: {exc.message}"))
        return None, None
    return converted.to_dict(), path


def _apply(run: str, state: dict, form, tables, *, stage: bool):
    """The posted values applied to the run: (new state, problems, staged code, staged inputs by
    name). Without `stage`, uploads are left out (and not converted)."""
    problems: list = []
    no_file = (None, None)
    code_upload, code_path = _stage(run, form.cleaned_data.get("code"), "code", problems) if stage else no_file
    staged, data_rows = {}, []
    for index, row in enumerate(tables["data"].forms):
        cleaned = row.cleaned_data
        upload, path = _stage(run, cleaned.get("file"), f"data.{index}.file", problems) if stage else no_file
        if path is not None:
            staged[(cleaned.get("original") or cleaned.get("name") or "").strip()] = path
        data_rows.append({"name": cleaned.get("name") or "", "original": cleaned.get("original") or "",
                          "upload": upload, "remove": cleaned.get("remove", False),
                          "failed": bool(cleaned.get("file")) and upload is None})
    cleaned = form.cleaned_data
    values = {
        "command": cleaned.get("command") or "", "code": code_upload, "remove_code": cleaned.get("remove_code", False),
        **{key: cleaned.get(key) or "" for key in ("timeout", *DISTRIBUTION_FIELDS)},
        **{table: [row.cleaned_data for row in tables[table].forms] for table in ("literals", "outputs", "env")},
        "data": data_rows,
    }
    new, found = code.apply(state, values)
    # a file that could not be converted already has its message; do not also say it is missing
    failed = {f"data.{index}.file" for index, row in enumerate(data_rows) if row["failed"]}
    problems += [problem for problem in found if problem.field not in failed]
    return new, problems, code_path, staged


def _add_problems(problems, form, tables) -> None:
    for problem in problems:
        head, _, rest = problem.field.partition(".")
        index, _, name = rest.partition(".")
        if head in tables and index.isdigit() and int(index) < len(tables[head].forms):
            row = tables[head].forms[int(index)]
            row.add_error(name if name in row.fields else None, problem.message)
        else:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)


def _errors(form, tables) -> list[dict]:
    """Every error on the step, in the order of the page: {label, id (of its field), message}."""
    def of(bound_form, label: str) -> list[dict]:
        found = []
        for name, messages in bound_form.errors.items():
            field = None if name == NON_FIELD_ERRORS else bound_form[name]
            where = label if field is None else f"{label}, {field.label.lower()}" if label else field.label
            found += [{"label": where, "id": field.auto_id if field else "", "message": message}
                      for message in messages]
        return found

    found = of(form, "")
    tail = [error for error in found if error["id"] in {form[key].auto_id for key in _FORM_FIELDS[1:]}]
    found = [error for error in found if error not in tail]
    for table, formset in tables.items():
        title = _TABLES[table][0]
        found += [{"label": title, "id": "", "message": message} for message in formset.non_form_errors()]
        for index, row in enumerate(formset.forms):
            found += of(row, f"{title} {index + 1}")
    return found + tail


def _row(table: str, form, index: int, existing=None) -> dict:
    cells = [{"field": form[name], "label": label} for name, label in _TABLES[table][3]]
    return {"form": form, "number": index + 1, "existing": existing, "cells": cells}


def _row_template(table: str) -> str:
    return "wizard/code.html#" + ("data-row" if table == "data" else "cells-row")


def _table(table: str, formset, existing=()) -> dict:
    """What wizard/_table.html shows of a table."""
    _, headers, add, _ = _TABLES[table]
    return {"key": table, "formset": formset, "headers": headers, "add": add, "row_template": _row_template(table),
            "css": "wizard-data-inputs" if table == "data" else "",
            "rows": [_row(table, row, index, existing[index] if index < len(existing) else None)
                     for index, row in enumerate(formset.forms)]}


def code_step(request, run: str, state: dict, workspace):
    action = request.POST.get("action", "") if request.method == "POST" else ""
    add = action.removeprefix("add-") if action.startswith("add-") else ""
    add = add if add in code.TABLES else ""
    initial, form, tables = _forms(request, state, add=add)
    errors = []
    if request.method == "POST" and not add:
        if _valid(form, tables):
            new, problems, code_path, staged = _apply(run, state, form, tables, stage=True)
            if not problems:
                runs.sync_files(run, new, code=code_path, inputs=staged)
                return saved(request, run, new, "code")
            _add_problems(problems, form, tables)
        shutil.rmtree(runs.staging_dir(run), ignore_errors=True)
        errors = _errors(form, tables)
    upload = state.get("code")
    return page(request, run, state, "code", "wizard/code.html", {
        "form": form, "formsets": tables, "errors": errors, "added": add,
        "heading": problems_heading(len(errors)),
        "files_again": bool(request.FILES),
        "tables": {table: _table(table, formset, initial["data"] if table == "data" else ())
                   for table, formset in tables.items()},
        "references": code.input_references(state), "generic_reference": "${{inputs.<name>}}",
        "generic_output": "${{outputs.<name>}}",
        "code_upload": upload, "code_summary": code.upload_summary(upload) if upload else "",
    })


def _for_htmx(request, state: dict) -> bool:
    """The step's fragments answer htmx requests of a run that has reached the step."""
    return bool(request.htmx) and flow.reachable(state, "code")


@login_required
@require_GET
@vary_on_headers("HX-Request")
@wizard_run
def code_row(request, run: str, state: dict, table: str):
    """One more empty row of a table of the Code step (htmx), and its formset's new row count."""
    if table not in code.TABLES:
        raise Http404("no such table")
    if not _for_htmx(request, state):
        return redirect(step_url(run, "code"))
    index = _total(request.GET, table)
    row = ROW_FORMS[table](prefix=f"{table}-{index}", index=index, empty_permitted=True, use_required_attribute=False)
    return render(request, "wizard/code_row.html", {"table": table, "total": index + 1, "run": run,
                                                    "row_template": _row_template(table), "r": _row(table, row, index)})


@login_required
@require_POST
@wizard_run
def code_check(request, run: str, state: dict):
    """The Code step's problems for the values being edited, without saving (htmx): the banner and
    every field's errors, swapped in place. Files are checked when the step is saved."""
    if not _for_htmx(request, state):
        return redirect(step_url(run, "code"))
    _, form, tables = _forms(request, state)
    if _valid(form, tables):
        _, problems, _, _ = _apply(run, state, form, tables, stage=False)
        _add_problems([p for p in problems if p.field != "code" and not p.field.endswith(".file")], form, tables)
    errors = _errors(form, tables)
    fields = [field for bound in (form, *(row for formset in tables.values() for row in formset.forms))
              for field in bound if not field.is_hidden and field.widget_type not in ("clearablefile", "checkbox")]
    return render(request, "wizard/code_check.html",
                  {"errors": errors, "fields": fields, "heading": problems_heading(len(errors))})
