# deploy/services.Dockerfile - PostgreSQL 15 and nginx for deploy/compose.yaml,
# on the same Debian 12 base as Harvest's image (deploy/base-image.sh), since
# no image registry is reachable here. One image, two services: compose
# runs `postgres` or `nginx` from it.
ARG BASE=harvest-base:bookworm
FROM ${BASE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      postgresql-15 nginx-light openssl curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
