"""Dealstream settings, read from the environment.

No variable set gives the embedded mode (SQLite, in-memory channel layer, jobs run
inside the server process); DATABASE_URL and REDIS_URL switch to the distributed mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from api.logging import LOG_FORMATS, logging_config
from valuations.scoring import SCORER_VERSION as ENGINE_SCORER_VERSION

# Lets admin and queryset classes be subscripted for the type checker at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
Number = TypeVar("Number", int, float)


def envstr(name: str, default: str) -> str:
    """A string setting; an empty value counts as unset."""
    return os.environ.get(name) or default


def _envnumber(name: str, default: Number, minimum: Number, kind: type[Number], noun: str) -> Number:
    """A number setting that refuses to start the process on a bad value."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {noun}, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    return _envnumber(name, default, minimum, int, "an integer")


def envfloat(name: str, default: float, *, minimum: float = 0.0) -> float:
    return _envnumber(name, default, minimum, float, "a number")


def envbool(name: str, default: bool) -> bool:
    """A boolean setting: 1/true/yes/on or 0/false/no/off, anything else is an error."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


APP_ENV = envstr("APP_ENV", "development")
DEBUG = envbool("DEBUG", False)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"  # noqa: S105
SECRET_KEY = envstr("SECRET_KEY", _DEV_SECRET)
if APP_ENV == "production" and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set when APP_ENV=production")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "api",
    "events",
    "jobs",
    "deals",
    "valuations",
    "dashboard",
    "webhooks",
]

# Django's own middlewares, as subclasses that spare stream opens a thread hand-off per hook
# (events/stream_middleware.py); every other request runs them exactly as Django does.
MIDDLEWARE = [
    "api.middleware.request_context_middleware",
    "events.stream_middleware.SecurityMiddleware",
    "events.stream_middleware.SessionMiddleware",
    "events.stream_middleware.CommonMiddleware",
    "events.stream_middleware.CsrfViewMiddleware",
    "events.stream_middleware.AuthenticationMiddleware",
    "events.stream_middleware.MessageMiddleware",
    "events.stream_middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# API paths carry no trailing slash; a redirect would turn a POST into a GET.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database -----------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
_db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process workers write while streams read; IMMEDIATE avoids
    # the lock-upgrade deadlocks SQLite otherwise reports as "database is locked".
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    _db["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
else:
    # Under ASGI every synchronous request runs on a fresh thread, so Django's per-thread
    # persistent connections would reconnect on each request; a process-wide pool does not.
    _db["CONN_MAX_AGE"] = 0
    # Checked on checkout, so a database restart costs a reconnect, not an error.
    _db["CONN_HEALTH_CHECKS"] = True
    # Django's backend, with a pool that replaces all its dead connections once it meets one
    # (core/postgresql/base.py): terminated connections cost a reconnect, not a 10 s timeout.
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "core.postgresql"
    _db["OPTIONS"] = {
        "pool": {
            "min_size": envint("DB_POOL_MIN_SIZE", 2),
            "max_size": envint("DB_POOL_MAX_SIZE", 20, minimum=1),
            "timeout": 10,
        }
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, channel layer, cache, Celery ----------------------------------------
REDIS_URL = envstr("REDIS_URL", "")
DISTRIBUTED = bool(REDIS_URL)
# Namespaces every Redis name (pub/sub channels, cache keys, queue, stream slots) so
# several deployments, or test runs, can share one Redis server.
REDIS_PREFIX = envstr("REDIS_PREFIX", "dealstream")

if DISTRIBUTED:
    # The pub/sub layer sends to a group with one PUBLISH whatever the number of
    # subscribers, which keeps a publisher's cost flat as listeners grow.
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "events.layers.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": REDIS_PREFIX},
        }
    }
    CACHES: dict[str, Any] = {
        "default": {
            "BACKEND": "api.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10_000}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# "embedded": the same Celery tasks run on a thread pool inside the server process.
# "celery": tasks go to the broker for `celery -A config worker`.
# "inline": run where they are queued, after commit (the in-process test suite).
JOB_RUNNER = envstr("JOB_RUNNER", "celery" if DISTRIBUTED else "embedded")
if JOB_RUNNER not in {"embedded", "celery", "inline"}:
    raise ImproperlyConfigured(f"JOB_RUNNER must be 'embedded', 'celery' or 'inline', got {JOB_RUNNER!r}")
EMBEDDED_WORKER_THREADS = envint("EMBEDDED_WORKER_THREADS", 4, minimum=1)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = REDIS_PREFIX
# Acknowledged when the task ends, so a worker holds one message per process and no more.
CELERY_TASK_ACKS_LATE = True
# A job whose worker died is recovered by the reaper alone (jobs/services.py), counted in its
# attempts; Celery does not redeliver the message of a lost worker process. (After a whole
# worker dies, the broker's visibility timeout still returns its unacknowledged message; it
# finds the job already requeued or finished and does nothing.)
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("JOB_TIME_LIMIT_SECONDS", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 10)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("JOB_VISIBILITY_TIMEOUT_SECONDS", 600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Keep the LOGGING configuration (handlers, redaction) in worker processes too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Product settings (spec §9) -------------------------------------------------------
# The scoring engine's own version, so the header and the responses cannot drift apart.
SCORER_VERSION = ENGINE_SCORER_VERSION
SSE_HEARTBEAT_SECONDS = envfloat("SSE_HEARTBEAT_SECONDS", 15.0, minimum=0.05)
SSE_MAX_STREAMS_PER_KEY = envint("SSE_MAX_STREAMS_PER_KEY", 10, minimum=1)
# Dashboard users stream with their session: counted per user like keys.
SSE_MAX_STREAMS_PER_USER = envint("SSE_MAX_STREAMS_PER_USER", 10, minimum=1)
SSE_RETRY_MILLISECONDS = envint("SSE_RETRY_MILLISECONDS", 3000)
# A web process stopping (SIGTERM) ends its streams with a random `retry:` up to this, so
# its clients come back spread over this window rather than all at once (docs/operations.md).
SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS = envint("SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS", 5000, minimum=0)
# Events queued for one connection before a client too slow to read is dropped.
SSE_MAX_QUEUED_EVENTS = envint("SSE_MAX_QUEUED_EVENTS", 1000, minimum=1)
# PostgreSQL connections each web process keeps for what streams read as they open
# (events/store.py): a reconnect storm's opens share them, one statement at a time each.
SSE_OPEN_DB_CONNECTIONS = envint("SSE_OPEN_DB_CONNECTIONS", 4, minimum=1)
# How long a stream ticket (POST /api/v1/stream-tickets) may wait to be redeemed (§8a).
STREAM_TICKET_TTL_SECONDS = envint("STREAM_TICKET_TTL_SECONDS", 60, minimum=1)
RATE_LIMIT_PER_MINUTE = envint("RATE_LIMIT_PER_MINUTE", 60, minimum=1)
# Callers without a usable credential (per client address): every 401 counts here.
RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE = envint("RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE", 60, minimum=1)
# Password logins (dashboard and admin): failures allowed per account and per client
# address within LOGIN_LOCKOUT_SECONDS before further attempts are refused for that long.
LOGIN_MAX_FAILURES_PER_ACCOUNT = envint("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_ADDRESS = envint("LOGIN_MAX_FAILURES_PER_ADDRESS", 20, minimum=1)
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
EVENT_RETENTION_DAYS = envint("EVENT_RETENTION_DAYS", 7, minimum=1)
VALUATION_RETENTION_DAYS = envint("VALUATION_RETENTION_DAYS", 90, minimum=1)
MAX_UPLOAD_MB = envint("MAX_UPLOAD_MB", 20, minimum=1)
# Budgets for reading an untrusted statement file, in a child process (deals/parsing/sandbox.py).
PARSE_MEMORY_LIMIT_MB = envint("PARSE_MEMORY_LIMIT_MB", 1024, minimum=128)
PARSE_TIME_LIMIT_SECONDS = envfloat("PARSE_TIME_LIMIT_SECONDS", 120.0, minimum=1.0)
PDF_MAX_PAGES = envint("PDF_MAX_PAGES", 300, minimum=1)
PDF_MAX_INFLATED_MB = envint("PDF_MAX_INFLATED_MB", 100, minimum=1)
PDF_MAX_STREAM_INFLATED_MB = envint("PDF_MAX_STREAM_INFLATED_MB", 25, minimum=1)
# Every request body that is not an upload (JSON, forms): refused with 413 above this,
# before it is read (api.body_limit).
MAX_JSON_BODY_MB = envint("MAX_JSON_BODY_MB", 2, minimum=1)
# Objects and arrays nested deeper than this are refused with 400 (api.parsers).
MAX_JSON_DEPTH = envint("MAX_JSON_DEPTH", 32, minimum=1)
VALUATION_ALLOW_PRIVATE_URLS = envbool("VALUATION_ALLOW_PRIVATE_URLS", False)
METRICS_TOKEN = envstr("METRICS_TOKEN", "")
# A Celery worker serves its pool's metrics on this port (0: off); see api/worker_metrics.py.
# Its pool processes share them through prometheus_client's multiprocess files, so the
# directory must be in the environment before the worker starts.
WORKER_METRICS_PORT = envint("WORKER_METRICS_PORT", 0)
if WORKER_METRICS_PORT and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    raise ImproperlyConfigured(
        "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: a directory of this worker's own"
    )
# Webhooks (docs/webhooks.md): the Svix retry schedule (seconds before each attempt), the
# time an endpoint may keep failing before it is disabled, and the sweep that retries.
WEBHOOK_ALLOW_PRIVATE_URLS = envbool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
WEBHOOK_TIMEOUT_SECONDS = envfloat("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)
WEBHOOK_RETRY_SCHEDULE: list[float] = []
for _delay in envlist("WEBHOOK_RETRY_SCHEDULE", ["0", "5", "300", "1800", "7200", "18000", "36000", "36000"]):
    try:
        WEBHOOK_RETRY_SCHEDULE.append(float(_delay))
    except ValueError:
        raise ImproperlyConfigured(f"WEBHOOK_RETRY_SCHEDULE must list seconds, got {_delay!r}") from None
WEBHOOK_DISABLE_AFTER_SECONDS = envfloat("WEBHOOK_DISABLE_AFTER_SECONDS", 5 * 24 * 3600.0, minimum=1.0)
WEBHOOK_SWEEP_SECONDS = envfloat("WEBHOOK_SWEEP_SECONDS", 5.0, minimum=0.1)
MONTHLY_JOB_LIMIT = envint("MONTHLY_JOB_LIMIT", 500, minimum=0)
IDEMPOTENCY_WINDOW_HOURS = 24

DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_JSON_BODY_MB * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
CSRF_FAILURE_VIEW = "api.errors.csrf_failure"
# Error reports (the DEBUG page, error e-mails) with keys redacted like the logs.
DEFAULT_EXCEPTION_REPORTER = "api.error_reports.RedactingExceptionReporter"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", APP_ENV == "production")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Browser security headers (api.middleware) -------------------------------------------
# Scripts, styles, fonts, images and connections (EventSource, fetch) from this origin only;
# no inline script or style: the dashboard and the API docs load theirs from static files.
CONTENT_SECURITY_POLICY = envstr(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
)
# Strict-Transport-Security max-age; 0 sends none. A year in production.
HSTS_SECONDS = envint("HSTS_SECONDS", 365 * 24 * 3600 if APP_ENV == "production" else 0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.ratelimit.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.BoundedJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ResultsPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Dealstream API",
    "DESCRIPTION": "Underwriting and valuation work, run in the background and streamed live over SSE.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets are served by the app itself, not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several resources have a `status`; each gets an enum named after what it describes.
    "ENUM_NAME_OVERRIDES": {
        "DealStatusEnum": "deals.models.DealStatus",
        "StatementStatusEnum": "deals.models.StatementStatus",
        "BatchStatusEnum": "deals.models.BatchStatus",
        "ProposalStatusEnum": "deals.models.ProposalStatus",
        "JobStatusEnum": "jobs.models.JobStatus",
        "DecisionEnum": "deals.models.Decision",
    },
    # Links tell clients (and tests/api/test_schema_fuzz.py's fuzzer) which response ids feed
    # which operation.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema_streams.add_stream_operations",
        "api.schema_links.add_links",
    ],
}

# --- I18N ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ---------------------------------------------------------------------------
LOG_FORMAT = envstr("LOG_FORMAT", "json" if APP_ENV == "production" else "text")
LOG_LEVEL = envstr("LOG_LEVEL", "INFO")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {LOG_FORMAT!r}")
LOGGING: dict[str, Any] = logging_config(LOG_FORMAT, LOG_LEVEL)

# --- Periodic work (`celery -A config beat`, or the embedded scheduler) ----------------
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "reap-stale-jobs": {"task": "jobs.tasks.reap_stale_jobs", "schedule": 10.0},
    "dispatch-owed-jobs": {"task": "jobs.tasks.dispatch_owed_jobs", "schedule": 10.0},
    "prune-events": {"task": "events.tasks.prune_events", "schedule": 3600.0},
    "prune-valuations": {"task": "valuations.tasks.prune_valuations", "schedule": 3600.0},
    "prune-idempotency-records": {"task": "api.tasks.prune_idempotency_records", "schedule": 3600.0},
    "deliver-webhooks": {"task": "webhooks.tasks.deliver_due_webhooks", "schedule": WEBHOOK_SWEEP_SECONDS},
    "prune-webhook-deliveries": {"task": "webhooks.tasks.prune_webhook_deliveries", "schedule": 3600.0},
}
