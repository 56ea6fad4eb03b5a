from django.apps import AppConfig
from django.conf import settings
from PIL import Image


class StorageConfig(AppConfig):
    """Files of every workspace: one storage layer (S3 or the local filesystem), keys that carry the workspace, signed
    URLs, upload checks, and the bytes each workspace stores (public schema)."""

    name = "shared_apps.storage"
    label = "storage"
    verbose_name = "Storage"

    def ready(self) -> None:

        # Pillow refuses images past this many pixels (decompression bombs); the upload check refuses them first.
        Image.MAX_IMAGE_PIXELS = int(settings.STORAGE_IMAGE_MAX_PIXELS)
