# The code image: the project's code location served over gRPC (the `code` service on ECS), and
# the image each run's ECS task starts from (`dagster api execute_run …`, given by the run
# launcher). The webserver and the daemon can run from it too, with another command.
#   docker build -t lake-assets:$(git rev-parse --short HEAD) .
# Give the code server DAGSTER_CURRENT_IMAGE=<this image's URI>: the run launcher starts runs
# from the image that serves the code.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin lake \
    && mkdir -p /opt/dagster/home && chown lake /opt/dagster/home

WORKDIR /opt/lake-assets
COPY pyproject.toml README.md ./
COPY lake_assets ./lake_assets
COPY deploy ./deploy
RUN pip install .

USER lake
EXPOSE 4266
CMD ["dagster", "code-server", "start", "-m", "lake_assets.definitions", "-h", "0.0.0.0", "-p", "4266"]
