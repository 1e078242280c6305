#!/usr/bin/env bash
# The Sentinel topology of docker-compose.yml (profile sentinel, with docker-compose.sentinel.yml), started alone
# and failed over on purpose (docs/DEPLOYMENT.md, "Redis with Sentinel"):
#   1. `redis` and its two replicas healthy, with AOF and noeviction; three sentinels that agree on `redis` as
#      the primary of `freeface`, each seeing two replicas and two other sentinels, quorum 2;
#   2. a client (test/docker/sentinel-client.mjs: ioredis through the sentinels, with the app's settings and WAIT 1)
#      writes while `redis` is stopped: the sentinels promote a replica, the client follows, and no write it saw
#      acknowledged is missing on the new primary;
#   3. `redis`, started again right after the failover, comes back as a replica of the new primary, and keeps
#      that role in its redis.conf.
# Only the Redis services start: the app is not part of this check. Every wait is bounded. Lines starting with
# FIGURE are collected by scripts/ci/docker-e2e.sh, which runs this after the stack's own checks.
#
#   test/docker/sentinel-failover.sh           # needs the redis:7-alpine image and the app image
#
# Environment: COMPOSE_PROJECT (default freeface-ci-sentinel); SENTINEL_CLIENT_IMAGE, an image with node and
# ioredis in /app/node_modules (default the app's, freeface-email-service:dev).
set -euo pipefail
cd "$(dirname "$0")/../.."

project="${COMPOSE_PROJECT:-freeface-ci-sentinel}"
client_image="${SENTINEL_CLIENT_IMAGE:-freeface-email-service:dev}"
compose=(docker-compose -p "$project" -f docker-compose.yml -f docker-compose.sentinel.yml --profile sentinel)
nodes=(redis redis-replica-1 redis-replica-2)
sentinels=(redis-sentinel-1 redis-sentinel-2 redis-sentinel-3)
client="$project-client"
started=$SECONDS

log() { printf '  %s\n' "$*"; }
figure() { printf 'FIGURE %s: %s\n' "$1" "$2"; }
die() {
  printf 'sentinel-failover: %s\n' "$*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

cleanup() {
  local code=$?
  set +e
  if [ "$code" -ne 0 ]; then
    echo "--- the sentinels' last log lines"
    "${compose[@]}" logs --no-color --tail=15 "${sentinels[@]}" 2>&1 | tail -n 60
    docker logs "$client" 2>&1 | tail -n 5
    for service in "${nodes[@]}"; do
      echo "--- $service: the counter and INFO replication"
      redis_cli "$service" get freeface-ci:sentinel-counter 2>&1
      redis_cli "$service" info replication 2>&1 | grep -E '^(role|master_host|master_link_status|master_sync_in_progress|slave[0-9]|master_repl_offset|master_replid|second_repl_offset|connected_slaves)'
    done
  fi
  docker rm -f "$client" >/dev/null 2>&1
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1
  exit "$code"
}
trap cleanup EXIT

# Container ids by service, read once after `up` (stop and start keep them): docker-compose v1 takes about a
# second of CPU per call.
declare -A ids=()
container() { printf '%s' "${ids[$1]}"; }
# redis_cli SERVICE ARGS…: redis-cli in the service's container, with the password it needs (data node or sentinel).
redis_cli() {
  local service="$1"
  shift
  case "$service" in
    redis-sentinel-*)
      docker exec "$(container "$service")" sh -c \
        'REDISCLI_AUTH="$(cat /redis-auth/sentinel-password)" exec redis-cli -p 26379 "$@"' sh "$@"
      ;;
    *) docker exec "$(container "$service")" sh -c 'REDISCLI_AUTH="$(cat /redis-auth/password)" exec redis-cli "$@"' sh "$@" ;;
  esac | tr -d '\r'
}
# field NAME: the value after NAME in redis-cli's alternating name/value lines (SENTINEL MASTER).
field() { awk -v name="$1" 'prev == name { print; exit } { prev = $0 }'; }
info_field() { sed -n "s/^$1://p"; }
primary_of() { redis_cli "$1" sentinel get-master-addr-by-name freeface 2>/dev/null | head -n 1; }
# wait_for SECONDS WHAT COMMAND…: runs COMMAND every half second until it succeeds.
wait_for() {
  local limit="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what: not within $limit s"
    sleep 0.5
  done
}

docker image inspect "$client_image" >/dev/null 2>&1 || die "no image $client_image (SENTINEL_CLIENT_IMAGE)"
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
docker rm -f "$client" >/dev/null 2>&1 || true

# --- 1. The topology ----------------------------------------------------------------------------------------
t=$(now)
"${compose[@]}" up -d "${nodes[@]}" "${sentinels[@]}" >/dev/null 2>&1 || die "docker-compose up failed"
for service in "${nodes[@]}" "${sentinels[@]}"; do ids[$service]="$("${compose[@]}" ps -q "$service")"; done
all_healthy() {
  local service
  for service in "${nodes[@]}" "${sentinels[@]}"; do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$(container "$service")")" = healthy ] || return 1
  done
}
replicas_linked() {
  [ "$(redis_cli redis info replication | info_field connected_slaves)" = 2 ] &&
    [ "$(redis_cli redis-replica-1 info replication | info_field master_link_status)" = up ] &&
    [ "$(redis_cli redis-replica-2 info replication | info_field master_link_status)" = up ]
}
wait_for 30 "both replicas replicating from redis" replicas_linked
sentinels_agree() {
  local service master
  for service in "${sentinels[@]}"; do
    master="$(redis_cli "$service" sentinel master freeface)"
    [ "$(field ip <<<"$master")" = redis ] && [ "$(field num-slaves <<<"$master")" = 2 ] &&
      [ "$(field num-other-sentinels <<<"$master")" = 2 ] && [ "$(field quorum <<<"$master")" = 2 ] || return 1
  done
}
wait_for 30 "three sentinels that see redis as the primary, two replicas and each other" sentinels_agree
figure "sentinel profile: up to 2 replicas linked and 3 sentinels agreeing on the primary" "$(since "$t")"
for service in "${nodes[@]}"; do
  [ "$(redis_cli "$service" config get appendonly | tail -n 1)" = yes ] || die "$service: appendonly is not yes"
  [ "$(redis_cli "$service" config get maxmemory-policy | tail -n 1)" = noeviction ] ||
    die "$service: maxmemory-policy is not noeviction"
done
log "redis primary, 2 replicas linked, AOF and noeviction on each; 3 sentinels agree, quorum 2"

# --- 2. Failover under writes ---------------------------------------------------------------------------------
docker run -d --name "$client" --network "${project}_freeface" -v "$PWD/test/docker/sentinel-client.mjs:/app/sentinel-client.mjs:ro" \
  -v "${project}_redis-auth:/redis-auth:ro" -e SECONDS=16 \
  -e REDIS_SENTINELS=redis-sentinel-1:26379,redis-sentinel-2:26379,redis-sentinel-3:26379 \
  -e REDIS_SENTINEL_NAME=freeface -e REDIS_PASSWORD_FILE=/redis-auth/app-redis-password \
  -e REDIS_SENTINEL_PASSWORD_FILE=/redis-auth/app-sentinel-password -e REDIS_WAIT_REPLICAS=1 \
  --entrypoint node "$client_image" /app/sentinel-client.mjs >/dev/null
client_writes() { [ "$(redis_cli redis get freeface-ci:sentinel-counter)" -gt 10 ] 2>/dev/null; }
wait_for 20 "the client writing through the sentinels" client_writes

"${compose[@]}" stop -t 10 redis >/dev/null 2>&1
t=$(now)
new_primary=""
promoted() {
  local service
  for service in "${sentinels[@]}"; do
    new_primary="$(primary_of "$service")"
    case "$new_primary" in redis-replica-1 | redis-replica-2) return 0 ;; esac
  done
  return 1
}
wait_for 60 "a replica promoted by the sentinels" promoted
figure "sentinel failover: redis stopped to $new_primary promoted (down-after 5 s)" "$(since "$t")"
[ "$(redis_cli "$new_primary" info replication | info_field role)" = master ] || die "$new_primary is not a master"
# Back at once, while the client still writes: step 3 waits for it to rejoin.
"${compose[@]}" start redis >/dev/null 2>&1
restarted=$(now)

[ "$(docker wait "$client")" = 0 ] || die "the client failed: $(docker logs "$client" 2>&1 | tail -n 3)"
result="$(docker logs "$client" 2>/dev/null | tail -n 1)"
log "client: $result"
read -r acknowledged failed counter gap role < <(node -e '
  const r = JSON.parse(process.argv[1]);
  console.log(r.acknowledged, r.failed, r.counter, r.longestGapMs, r.role);' "$result")
[ "$role" = master ] || die "the client ended on a $role, not the primary"
[ "$acknowledged" -gt 0 ] || die "the client had no write acknowledged"

# --- 3. The old primary comes back as a replica ------------------------------------------------------------
rejoined() {
  local replication
  replication="$(redis_cli redis info replication 2>/dev/null)" || return 1
  [ "$(info_field role <<<"$replication")" = slave ] && [ "$(info_field master_host <<<"$replication")" = "$new_primary" ] &&
    [ "$(info_field master_link_status <<<"$replication")" = up ]
}
wait_for 60 "redis back as a replica of $new_primary" rejoined
figure "sentinel: the old primary started again to replicating from $new_primary" "$(since "$restarted")"
all_name_new_primary() {
  local service
  for service in "${sentinels[@]}"; do [ "$(primary_of "$service")" = "$new_primary" ] || return 1; done
}
wait_for 10 "all three sentinels naming $new_primary" all_name_new_primary
wait_for 30 "every Redis node and sentinel healthy (their Compose healthchecks)" all_healthy
grep -qx "replicaof $new_primary 6379" <<<"$(docker exec "$(container redis)" cat /data/redis.conf)" ||
  die "redis.conf of redis does not keep its new role"
# The count is read from the primary the sentinels settled on, not taken from the client: a client can reach
# the old primary while it is back up and still a primary, before the sentinels demote it (CI did: 7 writes
# there, each refused by WAIT for want of a replica, then wiped by its resync). Those writes were never
# acknowledged; an acknowledged one must be on the new primary.
final="$(redis_cli "$new_primary" get freeface-ci:sentinel-counter)"
[ "$final" -ge "$acknowledged" ] || die "$((acknowledged - final)) acknowledged writes lost in the failover"
figure "sentinel failover under writes (ioredis, WAIT 1)" \
  "$acknowledged writes acknowledged, none lost; $failed failed (no primary, or WAIT unmet); longest pause $(awk -v ms="$gap" 'BEGIN { printf "%.1f s", ms / 1000 }')"
[ "$counter" = "$final" ] ||
  log "the client's last read ($counter) came from a primary the sentinels then demoted; $new_primary has $final"
# A link just up may still be applying what the primary streamed after the sync: wait for the last write.
caught_up() { [ "$(redis_cli redis get freeface-ci:sentinel-counter)" = "$final" ]; }
wait_for 30 "redis to have every write of $new_primary ($final)" caught_up

figure "sentinel check" "$((SECONDS - started)) s"
