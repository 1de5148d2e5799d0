# One image for every role: api (default), worker, beat, flower, migrate (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOOKSTORE_VAR_DIR=/var/lib/bookstore

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. (psycopg[binary] and every
# other pinned package ship manylinux wheels: no compiler is needed.)
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN groupadd --system bookstore \
    && useradd --system --gid bookstore --home-dir /app --shell /usr/sbin/nologin bookstore \
    && mkdir -p "$BOOKSTORE_VAR_DIR" \
    && chown bookstore:bookstore "$BOOKSTORE_VAR_DIR"

COPY --chown=bookstore:bookstore . .

USER bookstore
EXPOSE 8000

# WEB_CONCURRENCY (gunicorn reads it) sets the number of processes.
# No --access-logfile: the app logs one access line per request (with its request id).
# gthread: measured 2-3x the requests/s of sync workers on cached reads (docs/performance.md).
CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--threads", "4"]
