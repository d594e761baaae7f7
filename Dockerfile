# One image for the api, the workers and the one-shot migration (see docker-compose.yml).
#   docker build -t hourglass .                                    # CPU torch (default)
#   docker build -t hourglass:cuda \
#     --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .   # CUDA torch wheels
# CUDA wheels bring their own CUDA runtime, so the slim base works on a GPU host with the NVIDIA
# container toolkit; BASE_IMAGE swaps the base for one that ships Python 3.11 otherwise.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin hourglass
WORKDIR /app

# Dependencies first, from pyproject.toml alone: source edits do not reinstall torch.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print(*p['dependencies'], *p['optional-dependencies']['sweep'], sep='\n')" > /tmp/requirements.txt \
 && pip install --no-cache-dir --index-url "${TORCH_INDEX}" "$(grep '^torch==' /tmp/requirements.txt)" \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY README.md ./
COPY models ./models
COPY service ./service
COPY hourglass_client ./hourglass_client
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps . && rm -rf build ./*.egg-info

USER 10001:10001
# Writable: a plain `docker run` on the SQLite default keeps its database file here.
WORKDIR /home/hourglass
ENV HOURGLASS_HOST=0.0.0.0 \
    HOURGLASS_PORT=8000
EXPOSE 8000

# Workers and the migration do not serve HTTP: docker-compose.yml disables this check for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HOURGLASS_PORT', '8000'), timeout=4)"]

CMD ["hourglass", "serve", "--host", "0.0.0.0"]
