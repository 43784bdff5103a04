from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from previews.models import PreviewToggle
from previews.registry import REGISTRY, Preview


def previews_for_user(*, user: AbstractBaseUser) -> list[tuple[Preview, bool]]:
    chosen = dict(PreviewToggle.objects.filter(user=user).values_list("key", "enabled")) if user.is_authenticated else {}
    return [(preview, chosen.get(key, preview.default)) for key, preview in REGISTRY.items()]


def preview_enabled(*, user: AbstractBaseUser, key: str) -> bool:
    preview = REGISTRY[key]
    if not user.is_authenticated:
        return preview.default
    toggle = PreviewToggle.objects.filter(user=user, key=key).values_list("enabled", flat=True).first()
    return preview.default if toggle is None else toggle
