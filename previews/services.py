from django.contrib.auth.models import AbstractBaseUser

from previews.models import PreviewToggle
from previews.registry import REGISTRY
from studio.errors import NotFound


def preview_set(*, user: AbstractBaseUser, key: str, enabled: bool) -> None:
    if key not in REGISTRY:
        raise NotFound(f"preview '{key}' does not exist; the Manage previews panel lists them")
    PreviewToggle.objects.update_or_create(user=user, key=key, defaults={"enabled": enabled})
