"""The wizard's forms only read what was posted; every rule (and every message about a value)
comes from jobs.wizard.state and the spec layer, which the views add to these forms."""

from __future__ import annotations

from django import forms

from jobs.wizard import state as wizard


def _text(label: str, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, strip=False,
                           widget=forms.TextInput(attrs=attrs))


class BasicsForm(forms.Form):
    name = _text("Job name", "Optional: letters, digits, '-' and '_' (up to 255). Leave it empty for a generated "
                             "name such as quiet_owl_1a2b3c4d.", autocomplete="off", spellcheck="false")
    display_name = _text("Display name", "Optional: how the job is shown in lists.")
    experiment_name = _text("Experiment", "Jobs of one experiment are listed together. Empty: Default.")
    description = forms.CharField(label="Description", required=False,
                                  widget=forms.Textarea(attrs={"rows": 3, "class": "prose"}))
    tags = forms.CharField(label="Tags", required=False, help_text="One key=value per line, e.g. team=vision.",
                           widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}))


class ComputeForm(forms.Form):
    compute_type = forms.CharField(required=False)
    tier = forms.CharField(required=False)
    instance_type = forms.CharField(required=False)
    instance_count = forms.CharField(label="Instance count", required=False,
                                     widget=forms.NumberInput(attrs={"min": 1, "step": 1, "inputmode": "numeric"}))
    cluster = forms.CharField(required=False)


class EnvironmentForm(forms.Form):
    env_kind = forms.CharField(required=False)
    curated = forms.CharField(required=False)
    reference = _text("Environment", "A registered or curated environment: azureml:<name>@latest or "
                                     "azureml:<name>:<version>.", spellcheck="false",
                      placeholder="azureml:my-environment@latest")
    image = _text("Docker image", "Any image the nodes can pull, e.g. python:3.11-slim or "
                                  "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04.", spellcheck="false",
                  placeholder=wizard.DEFAULT_IMAGE)


class CodeForm(forms.Form):
    code = forms.FileField(label="Script or folder archive", required=False,
                           help_text="A script (train.py), or a .zip / .tar.gz of your code folder. When everything "
                                     "is inside one folder, that folder's contents are used. It becomes the job's "
                                     "working directory (code: ./src in the YAML).")
    remove_code = forms.BooleanField(label="Remove the uploaded code", required=False)
    command = forms.CharField(label="Command", required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false",
                                                           "placeholder": "python train.py --data ${{inputs.data}}"}))


class LiteralInputForm(forms.Form):
    name = forms.CharField(label="Name", required=False,
                           widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "learning_rate"}))
    type = forms.ChoiceField(label="Type", required=False, choices=[(t, t) for t in wizard.LITERAL_TYPES])
    value = forms.CharField(label="Value", required=False, strip=False,
                            widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "0.01"}))


class DataInputForm(forms.Form):
    name = forms.CharField(label="Name", required=False,
                           widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "training_data"}))
    original = forms.CharField(required=False, widget=forms.HiddenInput)
    file = forms.FileField(label="File", required=False)
    remove = forms.BooleanField(label="Remove", required=False)


LiteralInputFormSet = forms.formset_factory(LiteralInputForm, extra=2)
DataInputFormSet = forms.formset_factory(DataInputForm, extra=1)
