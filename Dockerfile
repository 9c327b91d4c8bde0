# The desk's image (R10: an update replaces the container). Build it with
# scripts/update.sh, which passes VERSION from bot/version.py, the one place the
# version is defined; the build stops when the two disagree.

# --- build: install the desk and its dependencies into a virtual environment ---
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/desk
COPY pyproject.toml README.md ./
COPY bot bot
COPY api api
COPY delivery delivery
COPY handlers handlers
COPY dialogs dialogs
COPY backoffice backoffice
COPY tgkit tgkit
COPY desk desk
COPY storage storage
COPY locales locales
COPY plugins plugins
ARG VERSION
RUN found="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' bot/version.py)" \
    && if [ "$VERSION" != "$found" ]; then \
         echo "build argument VERSION='$VERSION' but bot/version.py says '$found'; use scripts/update.sh" >&2; \
         exit 1; \
       fi
# Not editable: the runtime stage gets the installed package, not the sources.
RUN /opt/desk/bin/pip install .

# --- runtime: the environment only, run by an unprivileged user ---
FROM python:3.11-slim AS runtime
ARG VERSION
LABEL org.opencontainers.image.title="ctv-desk" \
      org.opencontainers.image.description="Call to Visit support desk (Telegram)" \
      org.opencontainers.image.version="${VERSION}"
ENV PATH=/opt/desk/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite+aiosqlite:////app/data/desk.sqlite3
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home desk \
    && mkdir /app/data && chown desk:desk /app/data
COPY --from=build /opt/desk /opt/desk
WORKDIR /app
USER desk
# Only for the embedded SQLite default; with PostgreSQL the data lives in its own volume.
VOLUME ["/app/data"]
EXPOSE 8080
# Ready, not merely alive: database, migrations, Redis and the backoffice group (bot/ops.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8080') + '/ready', timeout=4)"]
# `run` applies the database migrations first, then serves (bot/app.py); SIGTERM
# stops it within 10 seconds without losing anything.
ENTRYPOINT ["ctv-desk"]
CMD ["run"]
