#!/usr/bin/env bash
# deploy_check.sh SRC_DIR HARVEST_BIN - deploy/ checked with the tools this
# machine has (CTest test_deploy; docs/deploy.md):
#   1. deploy/systemd: systemd-analyze verify (ExecStart pointed at the
#      built binary) and systemd-analyze security --offline, each unit's
#      exposure at most 2.0 ("OK");
#   2. the image (HV_DOCKER_IMAGE, default harvest:latest; make docker builds
#      it, CI does not: that takes minutes) when dockerd answers and the
#      image exists: `harvest --version` in a container, then a container
#      serving a tiny home with a Production model turns healthy through the
#      image's HEALTHCHECK (/readyz) and answers /readyz on the loopback
#      (--network host);
#   3. deploy/compose.yaml: docker-compose config, when installed.
# A part whose tool is absent is skipped with a message; exits 77 (CTest's
# skip code) when no part could run, 1 when one failed.
set -u
src=$1 bin=$2
ran=0 failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hv-deploy.XXXXXX") || exit 1
cid=""
cleanup() {
  [ -n "$cid" ] && docker rm -f "$cid" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; failed=1; }

check_systemd() {
  if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze absent (package systemd): units not checked"
    return
  fi
  ran=1
  mkdir -p "$tmp/units"
  local f name score
  for f in "$src"/deploy/systemd/*.service; do
    name=$(basename "$f")
    [ "$name" = "harvest-serve@.service" ] && name=harvest-serve@8001.service
    sed "s#/usr/local/bin/harvest#$bin#" "$f" > "$tmp/units/$name"
  done
  systemd-analyze verify "$tmp"/units/*.service > "$tmp/verify.log" 2>&1 \
    && ! grep -q . "$tmp/verify.log" \
    || { cat "$tmp/verify.log"; fail "systemd-analyze verify"; }
  for f in "$tmp"/units/*.service; do
    name=$(basename "$f")
    # --threshold is on the 0-100 scale the 0.0-10.0 score is printed on
    systemd-analyze security --offline=true --threshold=20 "$f" \
      > "$tmp/security.log" 2>&1 || fail "$name: exposure above 2.0"
    score=$(grep -o 'Overall exposure level for [^:]*: [0-9.]* [A-Z]*' \
              "$tmp/security.log" | sed 's/.*: //')
    echo "systemd: $name verified, exposure $score"
  done
}

check_image() {
  local image=${HV_DOCKER_IMAGE:-harvest:latest}
  if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    echo "SKIP: no running dockerd: the image is not checked (docs/deploy.md)"
    return
  fi
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    echo "SKIP: no image $image (make docker builds it): not checked"
    return
  fi
  ran=1
  local v
  v=$(docker run --rm --network host "$image" --version 2>&1)
  case "$v" in
    "harvest "*) echo "image: $v" ;;
    *) fail "docker run $image --version: $v"; return ;;
  esac
  # a home made by this build may be of a newer schema than an image built
  # from an older commit can open: such an image is stale, not broken
  local mine
  mine=$("$bin" --version 2>&1)
  if [ "$v" != "$mine" ]; then
    echo "SKIP: image $image is '$v', this build '$mine' (make docker rebuilds it): serving not checked"
    return
  fi
  # a tiny home with a Production model, made by the built binary
  local home="$tmp/home" h="$bin --home $tmp/home"
  if ! { $h data synth --users 100 --movies 80 --ratings 3000 --days 20 \
         && $h tune --grid dim=8 --epochs 1 --register harvest_recommender \
              --stage Production; } > "$tmp/home.log" 2>&1; then
    cat "$tmp/home.log"; fail "making the test home"; return
  fi
  # the image's user (uid 10001) owns its home, as on a volume
  local user=()
  if [ "$(id -u)" -eq 0 ]; then chown -R 10001:10001 "$home"
  else user=(--user "$(id -u):$(id -g)"); fi
  local port=$(( 20000 + $$ % 30000 )) state="" i
  cid=$(docker run -d --network host "${user[@]}" --health-interval 1s \
          --health-start-period 30s -e HARVEST_PORT=$port \
          -v "$home:/var/lib/harvest" "$image" \
          serve --host 127.0.0.1 --port $port) \
    || { fail "docker run $image serve"; return; }
  for i in $(seq 1 60); do
    state=$(docker inspect -f '{{.State.Health.Status}}' "$cid" 2>/dev/null)
    [ "$state" = healthy ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$cid")" = true ] || break
    sleep 0.5
  done
  if [ "$state" != healthy ]; then
    docker logs "$cid" 2>&1 | tail -n 20
    fail "container not healthy after 30 s (state '$state')"; return
  fi
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz"; then
    fail "/readyz of the container on 127.0.0.1:$port"; return
  fi
  echo "image: serve in a container healthy, /readyz 200 on 127.0.0.1:$port"
}

check_compose() {
  if ! command -v docker-compose >/dev/null; then
    echo "SKIP: docker-compose absent: deploy/compose.yaml not checked"
    return
  fi
  ran=1
  # the secrets deploy/.env would hold (compose refuses to run without them)
  HARVEST_PG_PASSWORD=x HARVEST_JWT_SECRET=x HARVEST_ADMIN_KEY=x \
    docker-compose -f "$src/deploy/compose.yaml" config -q > "$tmp/compose.log" 2>&1 \
    || { cat "$tmp/compose.log"; fail "docker-compose config"; return; }
  echo "compose: deploy/compose.yaml valid"
}

check_systemd
check_image
[ -f "$src/deploy/compose.yaml" ] && check_compose
[ "$failed" -ne 0 ] && exit 1
if [ "$ran" -eq 0 ]; then
  echo "SKIP: none of systemd-analyze, dockerd, docker-compose is here"
  exit 77
fi
exit 0
