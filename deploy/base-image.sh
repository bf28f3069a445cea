#!/bin/sh
# base-image.sh [TAG] - the Debian 12 (bookworm) base image the Dockerfile
# builds on, made from Debian packages because no image registry is
# reachable here: debootstrap --variant=minbase into a temp folder, the
# slim image's trimming (apt lists, docs, man pages, locales but C), then
# `docker import`. TAG defaults to harvest-base:bookworm; MIRROR to
# http://deb.debian.org/debian. Needs root (debootstrap chroots), a
# running dockerd and the packages debootstrap and docker.io.
# docs/deploy.md: measured size and time.
set -eu
tag=${1:-harvest-base:bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
for t in debootstrap docker; do
  command -v $t >/dev/null || { echo "base-image.sh: $t not found (apt-get install debootstrap docker.io)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "base-image.sh: debootstrap needs root" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "base-image.sh: dockerd is not running" >&2; exit 1; }
root=$(mktemp -d "${TMPDIR:-/tmp}/hv-base.XXXXXX")
trap 'rm -rf "$root"' EXIT INT TERM
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror"
# what debian:bookworm-slim leaves out; apt gets the same dpkg filter so
# packages installed later stay slim too
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
  "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias \
  -exec rm -rf {} +
cat > "$root"/etc/dpkg/dpkg.cfg.d/slim <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
  "$mirror" "$mirror" > "$root"/etc/apt/sources.list
tar -C "$root" --numeric-owner -c . | docker import \
  -c 'CMD ["/bin/bash"]' -c 'ENV LANG=C.UTF-8' - "$tag"
docker image ls "$tag"
