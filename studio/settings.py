"""The one settings module. Every value comes from the environment (see README)."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from studio.env import ConfigError, database_from_url, env_bool, env_float, env_int, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY must be set when DEBUG is off (or set DEBUG=true for local use)")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = [h.strip() for h in (env_str("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")).split(",") if h.strip()]
PORT = env_int("PORT", 8000, minimum=1)
STUDIO_ACCESS_LOG = env_str("STUDIO_ACCESS_LOG", "-")  # the web server's access log: "-" is runstudio's output

# Where the studio keeps code snapshots, node working directories, logs and outputs.
STUDIO_DATA_DIR = Path(env_str("STUDIO_DATA_DIR", str(BASE_DIR / "var" / "data"))).resolve()
# Where `manage.py studio_setup` (run by `dev.py run`) keeps the demo login it created.
STUDIO_DEMO_LOGIN_FILE = Path(env_str("STUDIO_DEMO_LOGIN_FILE", str(BASE_DIR / "var" / "demo-login.json"))).resolve()

_database_url = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'studio.db'}")
DATABASES = {"default": database_from_url(_database_url)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and not Path(DATABASES["default"]["NAME"]).is_absolute():
    DATABASES["default"]["NAME"] = str(BASE_DIR / DATABASES["default"]["NAME"])

# Execution: unset CELERY_BROKER_URL = the embedded local executor.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
STUDIO_EXECUTOR = "celery" if CELERY_BROKER_URL else "local"
STUDIO_LOCAL_MAX_NODES = env_int("STUDIO_LOCAL_MAX_NODES", 16, minimum=1)
# Spot: an evicted job goes back to the queue until it has been evicted this many times.
STUDIO_SPOT_MAX_EVICTIONS = env_int("STUDIO_SPOT_MAX_EVICTIONS", 3, minimum=0)
# For testing: each running Spot job is evicted at this rate (evictions per hour; 0 = never).
STUDIO_SPOT_EVICTION_RATE = env_float("STUDIO_SPOT_EVICTION_RATE", 0.0, minimum=0.0)
# How long a cluster takes to release idle nodes; it cannot scale up meanwhile.
STUDIO_CLUSTER_SCALE_DOWN_SECONDS = env_int("STUDIO_CLUSTER_SCALE_DOWN_SECONDS", 60, minimum=0)
STUDIO_HEARTBEAT_SECONDS = env_float("STUDIO_HEARTBEAT_SECONDS", 5.0, minimum=0.05)
STUDIO_NOT_RESPONDING_SECONDS = env_float("STUDIO_NOT_RESPONDING_SECONDS", 30.0, minimum=0.1)
STUDIO_NODE_LOST_SECONDS = env_float("STUDIO_NODE_LOST_SECONDS", 120.0, minimum=0.1)
STUDIO_SCHEDULER_INTERVAL_SECONDS = env_float("STUDIO_SCHEDULER_INTERVAL_SECONDS", 5.0, minimum=0.05)
# An admitted node no worker claimed within this long is sent to the workers again (the database is the queue).
STUDIO_NODE_CLAIM_TIMEOUT_SECONDS = env_float("STUDIO_NODE_CLAIM_TIMEOUT_SECONDS", 30.0, minimum=0.1)
STUDIO_CODE_MAX_BYTES = env_int("STUDIO_CODE_MAX_BYTES", 100 * 1024 * 1024, minimum=1)
STUDIO_SPEC_MAX_BYTES = env_int("STUDIO_SPEC_MAX_BYTES", 1024 * 1024, minimum=1)
# A code snapshot or input upload may hold at most this many files (and folders).
STUDIO_CODE_MAX_FILES = env_int("STUDIO_CODE_MAX_FILES", 10_000, minimum=1)
# The largest multipart request (a job with its code and data), refused before it is read.
STUDIO_UPLOAD_MAX_BYTES = env_int("STUDIO_UPLOAD_MAX_BYTES", 3 * STUDIO_CODE_MAX_BYTES, minimum=1)
# Where a node's process may be told to report MLflow metrics (the studio's own URL).
STUDIO_PUBLIC_URL = env_str("STUDIO_PUBLIC_URL", f"http://127.0.0.1:{PORT}")
# Nodes run inside bubblewrap: auto (when it works here), require (refuse to start nodes without it), off.
STUDIO_SANDBOX = env_str("STUDIO_SANDBOX", "auto").strip().lower()
if STUDIO_SANDBOX not in ("auto", "require", "off"):
    raise ConfigError(f"STUDIO_SANDBOX={STUDIO_SANDBOX!r} is not a sandbox mode; use auto, require or off")

# Signing in: after STUDIO_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address,
# that username is locked out from that address for STUDIO_LOGIN_LOCKOUT_MINUTES (django-axes).
STUDIO_LOGIN_FAILURE_LIMIT = env_int("STUDIO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
STUDIO_LOGIN_LOCKOUT_MINUTES = env_float("STUDIO_LOGIN_LOCKOUT_MINUTES", 15.0, minimum=0.0)
# The OpenAPI schema (/api/schema/) is for signed-in users unless this opens it to everyone.
STUDIO_PUBLIC_SCHEMA = env_bool("STUDIO_PUBLIC_SCHEMA", False)
# Behind HTTPS: cookies only over HTTPS (off for the embedded http://127.0.0.1 studio), and HSTS.
STUDIO_SECURE_COOKIES = env_bool("STUDIO_SECURE_COOKIES", False)
STUDIO_HSTS_SECONDS = env_int("STUDIO_HSTS_SECONDS", 0, minimum=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "js_lib_htmx",
    "studio",
    "quotas",
    "previews",
    "jobs",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "studio.middleware.UnstorableInputMiddleware",  # NULs in query strings and page forms: a 400, not a 500
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "studio.security.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its page
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username+address before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = STUDIO_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=STUDIO_LOGIN_LOCKOUT_MINUTES) if STUDIO_LOGIN_LOCKOUT_MINUTES else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # one user's typos lock out neither others nor them elsewhere
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "studio.views.locked_out"
AXES_VERBOSE = False

# Every response says what a page may load: its own scripts, styles, images and connections only. No
# inline script or style attributes anywhere (templates use static files and classes; htmx is told
# not to inject its indicator <style> and not to eval), so neither 'unsafe-inline' nor 'unsafe-eval'.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
])
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = STUDIO_SECURE_COOKIES
SECURE_HSTS_SECONDS = STUDIO_HSTS_SECONDS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

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
                "studio.context.studio",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "jobs:list"
LOGOUT_REDIRECT_URL = "login"
STATIC_ROOT = BASE_DIR / "var" / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = STUDIO_SPEC_MAX_BYTES + 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "studio.api_errors.api_exception_handler",
    # Bodies read with a cap (DATA_UPLOAD_MAX_MEMORY_SIZE, STUDIO_UPLOAD_MAX_BYTES), unstorable text refused.
    "DEFAULT_PARSER_CLASSES": ["studio.parsers.JSONParser", "studio.parsers.FormParser",
                               "studio.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Serverless Studio API",
    "DESCRIPTION": "Submit Azure ML CLI v2 jobs that run on serverless compute.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,  # who may read it: studio.views.SchemaView (STUDIO_PUBLIC_SCHEMA)
}

# Celery (only used when CELERY_BROKER_URL is set). A message only says "node N may be claimed":
# the database is the queue, a claim is a compare-and-swap (a second delivery does nothing), and the
# housekeeping loop sends again what nobody claimed in STUDIO_NODE_CLAIM_TIMEOUT_SECONDS. So a lost
# message (Redis restarted without persistence, a worker killed with messages prefetched) costs a
# delay, never a job.
CELERY_TASK_ACKS_LATE = True  # acknowledged when the task returns: a worker that dies unacked gets it redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = False  # a node's liveness is its heartbeat, not its message
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # hold no more messages than free slots: fewer to strand when killed
CELERY_WORKER_POOL = "threads"  # nodes are child processes anyway; a graceful stop reaches every node thread
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False  # a broker restart does not stop running nodes
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False  # no pidbox fanout to re-subscribe after a broker restart
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits for the broker to come back, however long
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # unacknowledged messages come back after 5 minutes, not Redis's default hour (the resend is faster still)
    "visibility_timeout": 300,
    "socket_connect_timeout": 2,  # sending a node while the broker is down fails fast (the resend follows)
    "socket_timeout": 10,
    "retry_on_timeout": True,
    "health_check_interval": 10,
}
# Sending a node never holds up the request that admitted it: one quick retry, then the resend's turn.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND")  # only the benchmark's baseline needs results

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "studio": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
        "jobs": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
        # Every 4xx/5xx response (5xx with its traceback) and refused hosts/bodies, also with DEBUG off.
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that worker processes started by tests see the same test database;
    # one per test run, so that two runs side by side do not share it; outside the checkout, whose
    # var/ belongs to `dev.py run`.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"test-studio-{os.getpid()}.db")}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
