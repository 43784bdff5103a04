"""Who is calling the tracking API: a job (its tracking token) or a user (their API token, reads only).

A job's token is ``<job name>.<HMAC>``: an HMAC (keyed with the server's SECRET_KEY, salted per
purpose) of the job's name and the per-job random ``Job.tracking_secret``. Every node of the job
gets the same token; it is never the user's API token and never a server secret, it reaches only
that job's runs, and it stops working as soon as the job has ended. Nothing about it is stored
except the per-job secret, so a copy of the database alone cannot mint tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework import authentication, exceptions, permissions
from rest_framework.authtoken.models import Token

from jobs.lifecycle import TERMINAL
from jobs.models import Job

_SALT = "jobs.tracking.job-token"


def job_tracking_token(*, job: Job) -> str:
    digest = salted_hmac(_SALT, f"{job.name}:{job.tracking_secret}", algorithm="sha256").hexdigest()
    return f"{job.name}.{digest}"


@dataclass(frozen=True)
class JobGrant:
    """``request.auth`` when a job's own token authenticated the request."""

    job: Job


@dataclass(frozen=True)
class TrackingPrincipal:
    """The caller as the tracking selectors and services see it."""

    user: AbstractBaseUser
    job: Job | None = None  # set when the caller is a job (its token); None for a user

    @classmethod
    def from_request(cls, request) -> "TrackingPrincipal":
        grant = request.auth if isinstance(request.auth, JobGrant) else None
        return cls(user=request.user, job=grant.job if grant else None)


class BearerAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``, as the mlflow client sends MLFLOW_TRACKING_TOKEN.

    A job token authenticates as that job (the job's submitter is ``request.user``, ``request.auth``
    a ``JobGrant``); a user's API token sent the same way authenticates as that user.
    """

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: write 'Bearer <token>'")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("the bearer token is not valid") from None
        if "." in token:
            return self._job(token)
        found = Token.objects.select_related("user").filter(key=token).first()
        if found is None or not found.user.is_active:
            raise exceptions.AuthenticationFailed("the bearer token is not valid")
        return found.user, found

    def _job(self, token: str):
        name, _, _digest = token.rpartition(".")
        job = Job.objects.select_related("workspace", "submitted_by").filter(name=name).first()
        if job is None or not constant_time_compare(job_tracking_token(job=job), token):
            raise exceptions.AuthenticationFailed("the tracking token is not valid")
        if job.status in TERMINAL:
            raise exceptions.AuthenticationFailed(
                f"job '{job.name}' has ended ({job.status}); its tracking token is no longer valid"
            )
        return job.submitted_by, JobGrant(job)

    def authenticate_header(self, request):
        return 'Bearer realm="mlflow"'


class TrackingAccess(permissions.BasePermission):
    """Reads: a job or a signed-in user. Writes (``view.writes``): only a job, through its own token."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(view, "writes", False) and not isinstance(request.auth, JobGrant):
            raise exceptions.PermissionDenied(
                "runs are written by their job, with the MLFLOW_TRACKING_TOKEN the studio gives it; "
                "a user's API token can only read"
            )
        return True
