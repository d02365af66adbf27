"""django-eventstream with events stored in PostgreSQL and Redis pub/sub between processes."""

import os
from urllib.parse import urlparse

import dj_database_url

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_eventstream"]
MIDDLEWARE: list[str] = []
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"
_redis = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5"))
EVENTSTREAM_REDIS = {"host": _redis.hostname, "port": _redis.port or 6379, "db": int(_redis.path.strip("/") or 0)}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
