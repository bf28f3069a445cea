# Harvest's image (docs/deploy.md). Built by `make docker`:
#   deploy/base-image.sh            # harvest-base:bookworm, from debootstrap
#   docker build --network host -t harvest:latest .
# The base is Debian 12 made from Debian packages (no image registry is
# reachable here); BASE picks another (debian:bookworm-slim where a
# registry is).
ARG BASE=harvest-base:bookworm

# ---- build: compilers and the -dev packages ------------------------------
FROM ${BASE} AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config libsqlite3-dev libpq-dev \
      libjansson-dev libmicrohttpd-dev libsodium-dev libjwt-dev \
      libopenblas-dev libcurl4-gnutls-dev libzip-dev libgsl-dev libcmocka-dev
WORKDIR /src
COPY CMakeLists.txt ./
COPY src src
COPY tests tests
# the image has no git history: the version is passed in (make docker)
ARG HV_GIT_VERSION=unknown
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
      -DHV_GIT_VERSION=${HV_GIT_VERSION} \
 && cmake --build build -j "$(nproc)" --target harvest \
 && strip build/harvest

# ---- runtime: the shared libraries only, a user of its own ---------------
FROM ${BASE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libsqlite3-0 libpq5 libjansson4 libmicrohttpd12 libsodium23 libjwt0 \
      libopenblas0-pthread libcurl3-gnutls libzip4 libgsl27 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd -g 10001 harvest \
 && useradd -u 10001 -g harvest -d /var/lib/harvest -M -s /usr/sbin/nologin harvest \
 && install -d -o harvest -g harvest -m 0700 /var/lib/harvest
COPY --from=build /src/build/harvest /usr/local/bin/harvest
USER harvest
ENV HARVEST_HOME=/var/lib/harvest HARVEST_PORT=8000 OPENBLAS_NUM_THREADS=1
VOLUME /var/lib/harvest
WORKDIR /var/lib/harvest
EXPOSE 8000
# ready = a model is loaded and the database answers; bash's /dev/tcp, so
# the image needs no curl. HARVEST_PORT names the port serve listens on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HARVEST_PORT} && printf 'GET /readyz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/harvest"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
