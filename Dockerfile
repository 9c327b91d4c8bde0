FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HTTP_HOST=0.0.0.0
COPY pyproject.toml README.md ./
COPY bot bot
COPY desk desk
COPY storage storage
COPY handlers handlers
COPY dialogs dialogs
COPY backoffice backoffice
COPY delivery delivery
COPY tgkit tgkit
COPY locales locales
RUN pip install --no-cache-dir . && useradd --create-home desk && mkdir -p data && chown desk data
USER desk
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)" || exit 1
ENTRYPOINT ["ctv-desk"]
CMD ["run"]
