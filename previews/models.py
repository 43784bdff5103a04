from django.conf import settings
from django.db import models


class PreviewToggle(models.Model):
    """A user's choice for one preview feature (absent: the feature's default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preview_toggles")
    key = models.CharField(max_length=64)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_toggle_per_preview")]
