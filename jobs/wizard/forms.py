"""The wizard's forms only read what was posted; every rule (and every message about a value)
comes from jobs.wizard.steps and the spec layer, which the views add to these forms."""

from __future__ import annotations

from django import forms

from jobs.wizard.flow import DEFAULT_IMAGE, LITERAL_TYPES
from jobs.wizard.steps.code import DISTRIBUTION_COUNTS, OUTPUT_MODES, OUTPUT_TYPES


def _text(label: str, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, strip=False,
                           widget=forms.TextInput(attrs=attrs))


def _select(label: str, choices, **attrs) -> forms.CharField:
    """A drop-down whose value the step checks (so that a value from a cloned job is kept and named)."""
    return forms.CharField(label=label, required=False, widget=forms.Select(choices=choices, attrs=attrs))


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
                  placeholder=DEFAULT_IMAGE)


def _count(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text,
                           widget=forms.NumberInput(attrs={"min": 1, "step": 1, "inputmode": "numeric"}))


class CodeForm(forms.Form):
    code = forms.FileField(label="Script or folder archive", required=False,
                           help_text="A script (train.py), or a .zip / .tar.gz of your code folder. When everything "
                                     "is inside one folder, that folder's contents are used. It becomes the job's "
                                     "working directory (code: ./src in the YAML).")
    remove_code = forms.BooleanField(label="Remove the uploaded code", required=False)
    command = forms.CharField(label="Command", required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false",
                                                           "placeholder": "python train.py --data ${{inputs.data}}"}))
    timeout = _text("Time limit", "The job is stopped after this long: seconds (3600), or with a unit (90 min, "
                                  "2h 30m, 1 d). Empty: no limit.", spellcheck="false", placeholder="e.g. 2h 30m")
    distribution_type = _select("Distribution", [("", "None: one process per node"),
                                                 ("pytorch", "PyTorch (torch.distributed)"), ("mpi", "MPI"),
                                                 ("tensorflow", "TensorFlow (TF_CONFIG)")])
    process_count_per_instance = _count("Processes per node", "PyTorch and MPI: processes on each node, e.g. one "
                                                              "per GPU.")
    worker_count = _count("Workers", "TensorFlow: the number of workers.")


class _RowForm(forms.Form):
    """A row of one of the code step's tables; each row shows its own example (EXAMPLES[index])."""

    EXAMPLES: tuple[dict[str, str], ...] = ()

    def __init__(self, *args, index: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = index
        example = self.EXAMPLES[index] if index is not None and index < len(self.EXAMPLES) else {}
        for name, placeholder in example.items():
            self.fields[name].widget.attrs["placeholder"] = placeholder


class RowFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "index": index}


_NAME = {"spellcheck": "false", "autocomplete": "off"}


class LiteralInputForm(_RowForm):
    EXAMPLES = ({"name": "learning_rate", "value": "0.01"}, {"name": "epochs", "value": "10"},
                {"name": "optimizer", "value": "adam"}, {"name": "early_stopping", "value": "true"},
                {"name": "batch_size", "value": "64"})
    name = forms.CharField(label="Name", required=False, widget=forms.TextInput(attrs=_NAME))
    type = forms.ChoiceField(label="Type", required=False, choices=[(t, t) for t in LITERAL_TYPES])
    value = forms.CharField(label="Value", required=False, strip=False, widget=forms.TextInput(attrs=_NAME))


class DataInputForm(_RowForm):
    EXAMPLES = ({"name": "training_data"}, {"name": "validation_data"}, {"name": "labels"}, {"name": "vocabulary"})
    name = forms.CharField(label="Name", required=False, widget=forms.TextInput(attrs=_NAME))
    original = forms.CharField(required=False, widget=forms.HiddenInput)
    file = forms.FileField(label="File", required=False)
    remove = forms.BooleanField(label="Remove", required=False)


class OutputForm(_RowForm):
    EXAMPLES = ({"name": "model"}, {"name": "metrics"}, {"name": "predictions"}, {"name": "checkpoints"})
    name = forms.CharField(label="Name", required=False, widget=forms.TextInput(attrs=_NAME))
    type = _select("Type", [(t, t) for t in OUTPUT_TYPES])
    mode = _select("Mode", [("", "default (rw_mount)"), *[(m, m) for m in OUTPUT_MODES]])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = (self.data.get(self.add_prefix("type")) if self.is_bound else None) or self.initial.get("type")
        if current and current not in OUTPUT_TYPES:  # a cloned job's other output type is kept
            self.fields["type"].widget.choices = [*self.fields["type"].widget.choices, (current, current)]


class VariableForm(_RowForm):
    EXAMPLES = ({"name": "LOG_LEVEL", "value": "INFO"}, {"name": "OMP_NUM_THREADS", "value": "4"},
                {"name": "HF_HOME", "value": "/tmp/huggingface"}, {"name": "WANDB_MODE", "value": "offline"})
    name = forms.CharField(label="Name", required=False, widget=forms.TextInput(attrs=_NAME))
    value = forms.CharField(label="Value", required=False, strip=False, widget=forms.TextInput(attrs=_NAME))


ROW_FORMS = {"literals": LiteralInputForm, "data": DataInputForm, "outputs": OutputForm, "env": VariableForm}
FORMSETS = {table: forms.formset_factory(form, formset=RowFormSet, extra=1) for table, form in ROW_FORMS.items()}
DISTRIBUTION_FIELDS = ("distribution_type", *DISTRIBUTION_COUNTS)
