# Tributary's service image. One process per container, never root: `tributary serve` by
# default; `tributary worker` or `tributary migrate` as the command.
#
#   docker build -t tributary:local .
#   docker run -d -p 127.0.0.1:8000:8000 -v tributary-data:/data tributary:local   # SQLite
#
# On PostgreSQL (with a migration step and a due-work worker): compose.yaml. README, "Run
# with Docker", and docs/operations.md, "Containers", say how.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The user the service runs as, and the directory for the embedded database and its
# signing key, owned by that user: a named volume mounted there starts out writable by it.
RUN useradd --create-home --uid 10001 --user-group tributary \
    && mkdir /data \
    && chown tributary:tributary /data
WORKDIR /srv/tributary

# The dependencies pyproject.toml declares, in a layer of their own: rebuilt only when
# pyproject.toml changes, not on every change of the code.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project, installed as README installs it (without the test extras), but not
# editable: the service runs the installed package, migrations and templates included.
COPY app ./app
COPY migrations ./migrations
RUN pip install . \
    && rm -rf build ./*.egg-info

COPY docker/entrypoint.py /usr/local/bin/tributary-entrypoint

# The embedded default keeps its database, and the signing key it generates, in /data; the
# entry point refuses to open them unless /data is a volume (or another mount holds them).
# Set DATABASE_URL to PostgreSQL instead: then TRIBUTARY_LEDGER_SIGNING_KEY is required,
# and `tributary migrate` runs as its own step before new versions start.
ENV DATABASE_URL=sqlite+aiosqlite:////data/tributary.db

USER tributary
EXPOSE 8000
# Ready means the database answers and its schema is this version's; /readyz is 503 if not.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/readyz', timeout=2)" >/dev/null 2>&1 || exit 1

ENTRYPOINT ["python", "/usr/local/bin/tributary-entrypoint"]
CMD ["tributary", "serve", "--host", "0.0.0.0", "--port", "8000"]
