# Tributary service image: slim Python, dependencies in their own layer, non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 tributary
WORKDIR /srv/tributary

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir -p app migrations && touch app/__init__.py migrations/__init__.py \
    && pip install . && pip uninstall -y tributary && rm -rf app migrations

COPY app ./app
COPY migrations ./migrations
RUN pip install --no-deps . && chown -R tributary /srv/tributary

USER tributary
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"

# DATABASE_URL should point at PostgreSQL in production, with TRIBUTARY_LEDGER_SIGNING_KEY
# set (`tributary keygen`; serve refuses to start without it unless
# TRIBUTARY_LEDGER_SEALING=off); run `tributary migrate` once per release (e.g. as a job)
# before rolling out new instances.
CMD ["tributary", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
