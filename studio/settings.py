"""Studio settings: one file, read from the environment."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """Read a setting; `NAME_FILE` (a path) wins over `NAME`, for secrets."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


VAR_DIR = Path(env("STUDIO_VAR_DIR", str(BASE_DIR / "var")))

# --- Secrets, deployment and process supervision (ops) ---------------------------------
# STUDIO_ENV=production (the Docker image sets it) refuses to start without a real secret
# key and with DEBUG on. `make run` writes a random key to var/secret_key (mode 600) on
# first run and passes it as SECRET_KEY_FILE. Behind TLS, STUDIO_HTTPS=1 turns on secure
# cookies, the HTTPS redirect and HSTS (`manage.py check --deploy` is then clean); the
# proxy must send X-Forwarded-Proto.
STUDIO_ENV = env("STUDIO_ENV", "development").strip().lower()
if STUDIO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"STUDIO_ENV must be development or production, not {STUDIO_ENV!r}.")
PRODUCTION = STUDIO_ENV == "production"
# Django's `check --deploy` flags a key starting "django-insecure-" (security.W009).
DEV_SECRET_KEY = "django-insecure-dev-only-key-change-me-in-production-0123456789"
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY") or DEV_SECRET_KEY
if PRODUCTION and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "STUDIO_ENV=production needs SECRET_KEY (or SECRET_KEY_FILE) of 50 or more random "
        "characters; scripts/run.sh makes one under STUDIO_VAR_DIR on first run."
    )
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("STUDIO_ENV=production runs with DEBUG off; unset DEBUG.")
if env_bool("STUDIO_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("STUDIO_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("STUDIO_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("STUDIO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("STUDIO_HSTS_PRELOAD", True)
# A worker told to stop lets its job run this many seconds, then puts it back in the
# queue (-1: wait for the job to finish). Scratch files crashed runs left are removed
# once this old (seconds; files of a dead worker's clip encode at once).
STUDIO_STOP_GRACE = float(env("STUDIO_STOP_GRACE", "2"))
STUDIO_SCRATCH_MAX_AGE = float(env("STUDIO_SCRATCH_MAX_AGE", str(3600)))
# A failed long video's finished segments wait this long for a retry or resubmit (7 days).
STUDIO_LONG_SEGMENTS_MAX_AGE = float(env("STUDIO_LONG_SEGMENTS_MAX_AGE", str(7 * 86400)))
# --- end of ops block -------------------------------------------------------------------

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_rq",
    "django_htmx",
    "template_partials",
    "studio.teams",
    "studio.projects",
    "studio.prompts",
    "studio.jobs",
    "studio.gallery",
    "studio.keys",
    "studio.moderation",
    "studio.storyboards",
    "studio.machine",
    "studio.library",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "studio.middleware.GZipTextMiddleware",  # see "Light pages" below
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.middleware.HtmxLoginRedirectMiddleware",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"

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
                "studio.teams.context_processors.pending_invitations",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'studio.sqlite3'}"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and the tests' subprocesses share one file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
# Light pages (issue 14), in one place:
# - Static files: `collectstatic` (scripts/run.sh, the Dockerfile) writes content-hashed
#   names and gzip/brotli copies; WhiteNoise serves hashed names with a ten-year
#   `immutable` max-age, so a page load asks for no static file twice. A file never
#   collected (tests, a fresh checkout) keeps its plain name (studio/static.py).
# - HTML and JSON: GZipMiddleware for text types only (media keeps its byte ranges; WhiteNoise
#   answers static files before it with its own compressed copies). BREACH needs a
#   secret reflected in a compressed body next to attacker-chosen text: our pages carry the
#   CSRF token, which Django masks afresh on every response, and Django's GZipMiddleware
#   pads each response by a random length ("Heal the Breach"). No page carries a fixed
#   secret: the API-keys page shows a new key once, in the one response to the POST that
#   made it, so it cannot be guessed byte by byte across requests. Keep it that way.
# - Media: studio/media.py answers with ETag and Last-Modified, honours If-None-Match and
#   If-Modified-Since (304) and lets callers give clip files a long max-age (their names
#   never change); gallery cards use ~320 px thumbnails, lazy-loaded.
WHITENOISE_MAX_AGE = 3600  # unhashed names (finders in development) only
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media lives on local disk under MEDIA_ROOT unless STUDIO_S3_BUCKET names a bucket on
# S3 or an S3-compatible service (MinIO, R2, ...). Either way code goes through Django's
# storage API (studio/media.py); the bucket stays private: URLs are presigned.
STORAGES = {
    # No OPTIONS: FileSystemStorage follows MEDIA_ROOT, also when tests override it.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, pre-compressed static files: see "Light pages" above.
    "staticfiles": {"BACKEND": "studio.static.StaticFilesStorage"},
}
if env("STUDIO_S3_BUCKET"):
    # Unset values are left out, so boto3's own chain applies (AWS_* variables, an IAM role).
    _s3_from_env = {
        "endpoint_url": env("STUDIO_S3_ENDPOINT_URL"),
        "region_name": env("STUDIO_S3_REGION"),
        "access_key": env("STUDIO_S3_ACCESS_KEY_ID"),
        "secret_key": env("STUDIO_S3_SECRET_ACCESS_KEY"),
        "addressing_style": env("STUDIO_S3_ADDRESSING_STYLE"),
    }
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("STUDIO_S3_BUCKET"),
            "location": env("STUDIO_S3_LOCATION", "media"),
            "querystring_auth": True,
            "querystring_expire": env_int("STUDIO_S3_URL_EXPIRE", 3600),
            "file_overwrite": False,
            # Presigned URLs signed with SigV4, the only kind R2 and new AWS regions take.
            "signature_version": "s3v4",
            **{key: value for key, value in _s3_from_env.items() if value},
        },
    }
# Serve media by redirecting to a presigned URL instead of streaming it through Django
# (only for storages without local files; access is still checked before the redirect).
STUDIO_S3_REDIRECT = env_bool("STUDIO_S3_REDIRECT", False)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Uploads above 2.5 MB (Django's default) stream to a temporary file, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Where those temporary files go (the system's by default). On media's filesystem, as
# `make run` puts them (under var/), storing an upload is a rename instead of a copy.
FILE_UPLOAD_TEMP_DIR = env("FILE_UPLOAD_TEMP_DIR") or None
STUDIO_MAX_UPLOAD_BYTES = env_int("STUDIO_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
# `default`: generations; `models`: checkpoint downloads (studio.library), which scripts/run.sh
# gives a worker of their own, so a long download never holds up a generation.
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 6 * 3600},
    "models": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 48 * 3600},
}
RQ = {"COMMIT_MODE": "on_db_commit"}
# Pub/sub: a group send is one PUBLISH that each ASGI process fans out to its own sockets,
# instead of one Redis list push and pop per watcher. With 200 watchers of one project that
# took p95 from ~700 ms to ~70 ms on 2 shared cores (bench/ws_fanout.py). Delivery is at
# most once, like the list layer's capped buffers; active cards also poll every 10 s.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
    }
}

# Engines: `animatic` always; a diffusers family when its model directory (under
# STUDIO_MODELS_DIR, named after the family) or STUDIO_<FAMILY>_MODEL (a directory or hub id)
# is configured. STUDIO_<FAMILY>_I2V_MODEL adds an image-to-video checkpoint (Wan, CogVideoX).
# Besides these, every catalogue model installed as STUDIO_MODELS_DIR/<catalogue name> (with
# its manifest) is an engine of that name, picked up without a restart (studio.jobs.engines).
STUDIO_MODELS_DIR = Path(env("STUDIO_MODELS_DIR", str(VAR_DIR / "models")))
# Where `manage.py fetch_model` and the staff Models page download checkpoints from: a hub
# mirror's URL, or empty for huggingface_hub's own default (HF_ENDPOINT, else the hub).
# huggingface_hub reads HF_TOKEN (gated checkpoints) and HF_HUB_OFFLINE itself.
STUDIO_HF_ENDPOINT = env("STUDIO_HF_ENDPOINT")
# RIFE frame-interpolation weights (`scripts/bootstrap.sh` fetches them); missing: DIS flow.
STUDIO_RIFE_WEIGHTS = Path(
    env("STUDIO_RIFE_WEIGHTS", str(BASE_DIR / "var/models/rife/flownet.pkl"))
)
STUDIO_ENGINE_CONFIGS: dict[str, dict] = {
    "animatic": {},
    "enhance": {"rife_weights": str(STUDIO_RIFE_WEIGHTS)},
}
for _family in ("wan", "ltx", "cogvideox", "svd"):
    _key = _family.upper()
    _dir = STUDIO_MODELS_DIR / _family
    _model = env(f"STUDIO_{_key}_MODEL") or (str(_dir) if _dir.is_dir() else "")
    if _model:
        STUDIO_ENGINE_CONFIGS[_family] = {
            "model": _model,
            "offload": env(f"STUDIO_{_key}_OFFLOAD", "auto"),
        }
        if env(f"STUDIO_{_key}_I2V_MODEL"):
            STUDIO_ENGINE_CONFIGS[_family]["i2v_model"] = env(f"STUDIO_{_key}_I2V_MODEL")
# What the pipelines of all engines may use together on the worker's device (the GPU, or RAM
# on a CPU-only worker); unset: the device's memory less headroom. Least recently used go first.
STUDIO_MEMORY_BUDGET_GB = float(env("STUDIO_MEMORY_BUDGET_GB", "0") or 0)
# Only these engines (comma list; empty: all), configured here or installed as models.
STUDIO_ENGINES = env_list("STUDIO_ENGINES")
if STUDIO_ENGINES:
    STUDIO_ENGINE_CONFIGS = {k: v for k, v in STUDIO_ENGINE_CONFIGS.items() if k in STUDIO_ENGINES}
STUDIO_DEFAULT_ENGINE = env(
    "STUDIO_DEFAULT_ENGINE",
    next((e for e in STUDIO_ENGINE_CONFIGS if e not in ("animatic", "enhance")), "animatic"),
)
STUDIO_MAX_ATTEMPTS = env_int("STUDIO_MAX_ATTEMPTS", 2)
# Quotas per team (a Team's own fields override them; 0: no limit): engine-seconds per
# calendar month (the worker measures each run's wall time), and jobs queued or running.
STUDIO_TEAM_MONTHLY_ENGINE_SECONDS = env_int("STUDIO_TEAM_MONTHLY_ENGINE_SECONDS", 36000)
STUDIO_TEAM_MAX_CONCURRENT_JOBS = env_int("STUDIO_TEAM_MAX_CONCURRENT_JOBS", 100)
# Fair share: how many of a team's jobs may be in the RQ queue (waiting or running) at once;
# the rest wait in the database and are released as the team's jobs finish, so one team's
# burst never queues ahead of another team's job. Set it to the number of workers.
STUDIO_FAIR_SHARE_SLOTS = env_int("STUDIO_FAIR_SHARE_SLOTS", 1)
# Content Credentials (C2PA): PEM files of the signing certificate chain (leaf first) and
# its private key, and extra trust anchors. Without a certificate, a development CA and leaf
# are made under STUDIO_C2PA_DEV_DIR on first use and that CA is trusted.
STUDIO_C2PA_CERT = env("STUDIO_C2PA_CERT")
STUDIO_C2PA_KEY = env("STUDIO_C2PA_KEY")
STUDIO_C2PA_TRUST_ANCHORS = env("STUDIO_C2PA_TRUST_ANCHORS")
STUDIO_C2PA_DEV_DIR = Path(env("STUDIO_C2PA_DEV_DIR", str(VAR_DIR / "c2pa")))
# The /v1 API: requests per key per minute (0: no limit), and how long the SDK's poll
# helper should wait between status checks (the `openai-poll-after-ms` header).
STUDIO_API_RATE_LIMIT = env_int("STUDIO_API_RATE_LIMIT", 60)
STUDIO_API_POLL_AFTER_MS = env_int("STUDIO_API_POLL_AFTER_MS", 2000)
STUDIO_PROGRESS_INTERVAL = float(env("STUDIO_PROGRESS_INTERVAL", "0.1"))

if env_bool("STUDIO_FAST_HASHER", False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}},
}

# ---- Hostile input: failed-attempt throttling and the Content-Security-Policy ---------
# (One block, kept together; deploy settings and SECRET_KEY live elsewhere in this file.)
# Failed logins per account and per client address, and invalid API keys per address,
# within a window from the first failure; past the limit: 429 with Retry-After. 0: off.
STUDIO_LOGIN_FAILURES_PER_ACCOUNT = env_int("STUDIO_LOGIN_FAILURES_PER_ACCOUNT", 5)
STUDIO_LOGIN_FAILURES_PER_IP = env_int("STUDIO_LOGIN_FAILURES_PER_IP", 20)
STUDIO_LOGIN_FAILURE_WINDOW_S = env_int("STUDIO_LOGIN_FAILURE_WINDOW_S", 15 * 60)
STUDIO_API_KEY_FAILURES_PER_IP = env_int("STUDIO_API_KEY_FAILURES_PER_IP", 20)
STUDIO_API_KEY_FAILURE_WINDOW_S = env_int("STUDIO_API_KEY_FAILURE_WINDOW_S", 10 * 60)
# SQLite in WAL mode: readers (lists, key lookups) no longer wait for a writer's lock,
# and a commit is not an fsync (bench/api_load.py: creates 4 -> 15 a second, no more
# "database is locked" 500s; see bench/README.md).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"]["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
# Content-Security-Policy (django-csp): scripts, styles and everything else from this
# origin only; no inline script or style anywhere (htmx's indicator style is in
# studio.css, see the htmx-config meta tag in base.html); websockets back to this host.
from csp.constants import NONE, SELF  # noqa: E402

INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "csp.middleware.CSPMiddleware")  # fmt: skip
# Media redirected to presigned S3 URLs loads from the bucket's origin.
_MEDIA_ORIGINS = env_list("STUDIO_CSP_MEDIA_ORIGINS") or (
    [env("STUDIO_S3_ENDPOINT_URL") or "https://*.amazonaws.com"] if STUDIO_S3_REDIRECT else []
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", *_MEDIA_ORIGINS],
        "media-src": [SELF, "blob:", *_MEDIA_ORIGINS],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
