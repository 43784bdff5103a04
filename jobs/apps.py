from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import wake
        from jobs.scheduling.service import schedule_cycle

        wake.set_scheduler(schedule_cycle)  # the state applier asks for cycles through jobs.wake
