"""How job states look on a page: ``{{ job.status|tone }}`` is the badge's class, from the lifecycle."""

from django import template

from jobs import lifecycle
from studio import humanize

register = template.Library()


@register.filter
def tone(status: str) -> str:
    """``ok``, ``bad``, ``stopped``, ``live`` or ``waiting``: the one place a status gets a colour."""
    return f"tone-{lifecycle.tone(status)}"


@register.filter
def failure_label(kind: str) -> str:
    try:
        return lifecycle.FailureKind(kind).label
    except ValueError:
        return lifecycle.Status.FAILED.value


@register.filter
def metric(value) -> str:
    """A metric's value as a person reads it (0.7290000000000001 → 0.729)."""
    return humanize.number(value) if isinstance(value, (int, float)) else str(value)
