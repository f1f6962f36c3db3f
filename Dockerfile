# The LRS image: `lrs serve` (API) or `lrs forwarders run` (worker), configured by LRS_* env.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY lrs ./lrs
COPY statements ./statements
COPY forwarders ./forwarders
RUN pip install --no-cache-dir .
ENV LRS_HOST=0.0.0.0 LRS_PORT=8000 LRS_DATA_DIR=/var/lib/lrs
EXPOSE 8000
CMD ["lrs", "serve"]
