# The LRS image: `lrs serve` (API), `lrs forwarders run` (worker) or `lrs demo-receiver`,
# configured by LRS_* environment variables (docs/operations.md). Runs as an unprivileged user.
FROM python:3.11.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY lrs ./lrs
COPY statements ./statements
COPY forwarders ./forwarders
RUN pip install --no-cache-dir . \
    && useradd --system --no-create-home lrs \
    && mkdir -p /var/lib/lrs && chown lrs /var/lib/lrs
USER lrs
ENV LRS_HOST=0.0.0.0 LRS_PORT=8000 LRS_DATA_DIR=/var/lib/lrs
EXPOSE 8000
CMD ["lrs", "serve"]
