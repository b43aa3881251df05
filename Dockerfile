# The image student programs run in: Python 3 and an unprivileged user, nothing else.
#   docker build --build-arg BASE_IMAGE=python:3.11-slim -t socketlab-runtime .
# BASE_IMAGE defaults to the public slim image; scripts/build-images.sh passes a local
# base built offline (debootstrap + docker import) where no registry is reachable.
# WITH_C=1 adds gcc and make for courses that accept C submissions (needs a package mirror).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG WITH_C=0
RUN if [ "$WITH_C" = 1 ]; then \
        apt-get update && apt-get install -y --no-install-recommends gcc make libc6-dev \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /tmp --shell /bin/sh student \
    && mkdir -p /submission /grader

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONIOENCODING=utf-8 \
    LANG=C.UTF-8

USER 10001:10001
WORKDIR /submission
CMD ["python3", "--version"]
