# The LRS image: `lrs serve` (API), `lrs forwarders run` (worker) or `lrs demo-receiver`,
# configured by LRS_* environment variables (docs/operations.md). Runs as an unprivileged user.
FROM python:3.11.11-slim-bookworm
WORKDIR /app
# Dependencies from the lock (exact versions, hashes checked) in their own layer; then the
# project itself, without resolving anything (`make lock` refreshes requirements/run.txt).
COPY requirements/run.txt ./requirements/run.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/run.txt
COPY pyproject.toml README.md LICENSE ./
COPY lrs ./lrs
COPY statements ./statements
COPY forwarders ./forwarders
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip check \
    && useradd --system --no-create-home lrs \
    && mkdir -p /var/lib/lrs && chown lrs /var/lib/lrs
USER lrs
ENV LRS_HOST=0.0.0.0 LRS_PORT=8000 LRS_DATA_DIR=/var/lib/lrs
EXPOSE 8000
CMD ["lrs", "serve"]
