# cosmos: the collector and Discord bot in one small image.
# Build: docker build -t cosmos .   Run: see docker-compose.yml
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what `pip install .` needs, so source edits don't bust the dependency layer needlessly.
COPY pyproject.toml README.md ./
COPY collectors ./collectors
COPY bot ./bot
# openssh-client: Docker hosts reached as ssh://user@host use the system ssh client; the docker
# SDK needs paramiko (a dependency in pyproject.toml) for ssh:// all the same: checked here.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && pip install . \
    && python -c "import paramiko, docker.transport.sshconn" \
    && useradd --system --create-home --uid 10001 cosmos \
    && mkdir -p /data \
    && chown cosmos:cosmos /data

USER cosmos
# The web server (pages, API, /metrics, /healthz) on 8080; reachable from outside the container
# only with COSMOS_WEB__HOST=0.0.0.0, which needs COSMOS_WEB__TOKEN.
ENV COSMOS_DATABASE_PATH=/data/cosmos.db \
    COSMOS_WEB__PORT=8080
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=60s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; t = os.environ.get('COSMOS_WEB__TOKEN'); r = u.Request('http://127.0.0.1:8080/healthz', headers={'Authorization': 'Bearer ' + t} if t else {}); sys.exit(0 if u.urlopen(r, timeout=4).status == 200 else 1)"]

ENTRYPOINT ["cosmos"]
CMD ["run"]
