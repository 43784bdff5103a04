from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from quotas.models import Workspace


def workspace_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Workspace]:
    return Workspace.objects.filter(members=user).order_by("name")
