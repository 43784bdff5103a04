"""Who is calling the tracking API: a job (its tracking token) or a user (their API token, reads only).

A job's token is ``<id>.<secret>``: ``secret`` is random (``secrets.token_urlsafe``), issued to one
node of the job when it is handed its environment (``services.tracking_token_issue``), and never
stored — the ``TrackingToken`` row ``id`` keeps only its sha256, compared in constant time. Nothing
the token is made of can be derived from anything else (SECRET_KEY, the job's name, the database
minus that row), it reaches only its own job's runs, and it stops working when its node or its
job ends (revoked; and refused for any job that has ended).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import authentication, exceptions, permissions
from rest_framework.authtoken.models import Token

from jobs.lifecycle import TERMINAL
from jobs.models import Job, TrackingToken

MAX_ID_DIGITS = 18  # a token id beyond a 64-bit integer is no token of ours


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def job_tracking_token(*, job: Job) -> str:
    """A new tracking token for ``job`` as a whole (no node); see ``services.tracking_token_issue``."""
    from jobs.tracking.services import tracking_token_issue

    return tracking_token_issue(job=job)


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
        token_id, _, secret = token.partition(".")
        row = None
        if token_id.isascii() and token_id.isdigit() and len(token_id) <= MAX_ID_DIGITS:
            row = TrackingToken.objects.select_related("job__workspace", "job__submitted_by") \
                .filter(id=int(token_id)).first()
        if row is None or not hmac.compare_digest(row.digest, token_digest(secret)):
            raise exceptions.AuthenticationFailed("the tracking token is not valid")
        job = row.job
        if job.status in TERMINAL:
            raise exceptions.AuthenticationFailed(
                f"job '{job.name}' has ended ({job.status}); its tracking token is no longer valid"
            )
        if row.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"this tracking token of job '{job.name}' was revoked when the node it was given to ended"
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
