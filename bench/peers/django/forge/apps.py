"""App config for the forge models (the reference app's tables, read-only schema)."""

from django.apps import AppConfig


class ForgeConfig(AppConfig):
    """The forge app: models over the tables created by forge's own migrations."""

    name = "forge"
    label = "forge"
    verbose_name = "forge (hoist reference app)"
    default_auto_field = "django.db.models.BigAutoField"
