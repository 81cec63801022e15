#!/usr/bin/env bash
# docker-engine.sh start|stop|status — a private Docker-API engine for the runtime tests and CI.
#
# Starts Debian's dockerd (package docker.io; this script installs nothing) with its own data-root,
# exec-root and socket under $PRYV_ENGINE_DIR (default /tmp/pryv-docker-engine), a local registry
# (package docker-registry) on 127.0.0.1:$PRYV_REGISTRY_PORT and the test images, built from local
# files only: localhost/test-busybox:latest (busybox-static) and localhost/test-node:20 (the host's
# node binary and its libraries), localhost/pryv-demo:1.0.0 (the demo release's image: test-node plus
# releases/demo/files/demo-service.mjs); 127.0.0.1:$PRYV_REGISTRY_PORT/test/busybox:1 is pushed for pull tests.
# PRYV_ENGINE=podman starts podman's Docker-API service instead (packages podman, runc, catatonit);
# it writes two drop-ins under /etc/containers, which podman reads only at start.
# `start` is idempotent and prints, as its last line, the exports the tests read:
#   eval "$(scripts/docker-engine.sh start | tail -1)"
# `stop` removes containers labelled io.pryv.test, stops the engine and the registry, and unmounts
# what dockerd leaves mounted under $PRYV_ENGINE_DIR.
set -euo pipefail
ENGINE=${PRYV_ENGINE:-docker}
DIR=${PRYV_ENGINE_DIR:-/tmp/pryv-docker-engine}
REPO=$(cd "$(dirname "$0")/.." && pwd)
REGISTRY_PORT=${PRYV_REGISTRY_PORT:-5055}
SOCK="$DIR/$ENGINE.sock"
PIDFILE="$DIR/$ENGINE.pid"
REG_PIDFILE="$DIR/registry.pid"
REGISTRY="127.0.0.1:$REGISTRY_PORT"
API="http://d/v1.41"
log() { echo "[docker-engine] $*" >&2; }

ping() { curl -sf -m 2 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }
registry_up() { curl -sf -m 1 "http://$REGISTRY/v2/" >/dev/null 2>&1; }
have_image() { curl -sf --unix-socket "$SOCK" "$API/images/$1/json" >/dev/null; }
exports() { echo "export DOCKER_HOST=unix://$SOCK PRYV_TEST_DOCKER_SOCKET=$SOCK PRYV_TEST_REGISTRY=$REGISTRY"; }

stop_pid() { # stop_pid PIDFILE: TERM, wait up to 10 s, then KILL
  [ -s "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$1"
}

wait_ping() {
  for _ in $(seq 300); do ping && return 0; sleep 0.1; done
  log "$ENGINE did not answer /_ping on $SOCK within 30 s; last log lines:"
  tail -30 "$DIR/$ENGINE.log" >&2
  exit 1
}

start_dockerd() {
  command -v dockerd >/dev/null || { log "dockerd not found: apt-get install docker.io"; exit 1; }
  rm -f "$DIR/exec/docker.pid"
  mkdir -p "$DIR/data" "$DIR/exec"
  # No iptables and no default bridge: neither works in this sandbox; services use host networking.
  nohup dockerd --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$DIR/exec/docker.pid" \
    -H "unix://$SOCK" --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
    >"$DIR/$ENGINE.log" 2>&1 &
  echo $! >"$PIDFILE"
}

start_podman() {
  command -v podman >/dev/null || { log "podman not found: apt-get install podman runc catatonit"; exit 1; }
  # No CAP_SYS_RESOURCE here: rlimits must stay under the hard limits (podman caps its own nproc at
  # 32768). crun fails on hybrid cgroups, hence runc.
  local hn hu
  hn=$(ulimit -Hn); [ "$hn" = unlimited ] && hn=65536; [ "$hn" -gt 65536 ] && hn=65536
  hu=$(ulimit -Hu); [ "$hu" = unlimited ] && hu=32768; [ "$hu" -gt 32768 ] && hu=32768
  mkdir -p /etc/containers/containers.conf.d /etc/containers/registries.conf.d
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
    "$hn" "$hn" "$hu" "$hu" >/etc/containers/containers.conf.d/50-pryv-test.conf
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY" >/etc/containers/registries.conf.d/50-pryv-test.conf
  # Run state left from an earlier boot (/run may persist here) makes podman refuse to start.
  local btime; btime=$(awk '/^btime/{print $2}' /proc/stat)
  if [ -e /run/libpod/alive ] && [ "$(stat -c %Y /run/libpod/alive)" -lt "$btime" ]; then
    rm -rf /run/libpod /run/containers/storage /run/runc
  fi
  nohup podman system service --time=0 "unix://$SOCK" >"$DIR/$ENGINE.log" 2>&1 &
  echo $! >"$PIDFILE"
}

start_registry() {
  command -v docker-registry >/dev/null || { log "docker-registry not found: apt-get install docker-registry"; exit 1; }
  stop_pid "$REG_PIDFILE"
  mkdir -p "$DIR/registry-data"
  printf 'version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: %s }, delete: { enabled: true } }\nhttp: { addr: %s }\n' \
    "$DIR/registry-data" "$REGISTRY" >"$DIR/registry.yml"
  nohup docker-registry serve "$DIR/registry.yml" >"$DIR/registry.log" 2>&1 &
  echo $! >"$REG_PIDFILE"
  for _ in $(seq 100); do registry_up && return 0; sleep 0.1; done
  log "registry did not answer on $REGISTRY; last log lines:"
  tail -30 "$DIR/registry.log" >&2
  exit 1
}

mkroot() { # mkroot DIR: a minimal busybox root file system
  mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/proc" "$1/sys" "$1/dev" "$1/root"
  cp "$(command -v busybox)" "$1/bin/busybox"
  # `busybox --list` names busybox itself: linking it would overwrite the binary.
  for a in $("$1/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
  echo 'root:x:0:' >"$1/etc/group"
  echo 'hosts: files dns' >"$1/etc/nsswitch.conf"
  chmod 1777 "$1/tmp"
}

node_root() { # node_root DIR: a root file system with busybox and the host's Node.js and its libraries
  mkroot "$1"; mkdir -p "$1/usr/bin" "$1/app"
  local node_bin; node_bin=$(readlink -f "$(command -v node)")
  cp "$node_bin" "$1/usr/bin/node"
  for lib in $(ldd "$node_bin" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do cp -L --parents "$lib" "$1"; done
}

import_image() { # import_image DIR TAG CHANGES...: tar DIR into the engine, tag the resulting id
  local dir=$1 tag=$2; shift 2
  local id
  id=$(tar --numeric-owner -C "$dir" -c . | DOCKER_HOST="unix://$SOCK" docker import "$@" - | grep -oE 'sha256:[0-9a-f]{64}' | tail -1)
  DOCKER_HOST="unix://$SOCK" docker tag "$id" "$tag" # tag by id: podman's import ignores the tag
}

build_images() {
  command -v busybox >/dev/null || { log "busybox not found: apt-get install busybox-static"; exit 1; }
  local d
  if ! have_image localhost/test-busybox:latest; then
    d=$(mktemp -d); mkroot "$d"
    import_image "$d" localhost/test-busybox:latest -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin'
    rm -rf "$d"
  fi
  if ! have_image localhost/test-node:20; then
    d=$(mktemp -d); node_root "$d"
    import_image "$d" localhost/test-node:20 -c 'CMD ["/usr/bin/node"]' -c 'ENV PATH=/usr/bin:/bin' -c 'WORKDIR /app'
    rm -rf "$d"
  fi
  # The built-in demo release's image (releases/demo/README.md): its service file on the Node image.
  if ! have_image localhost/pryv-demo:1.0.0; then
    d=$(mktemp -d); node_root "$d"
    cp "$REPO/releases/demo/files/demo-service.mjs" "$d/app/"
    import_image "$d" localhost/pryv-demo:1.0.0 -c 'CMD ["/usr/bin/node", "/app/demo-service.mjs"]' -c 'ENV PATH=/usr/bin:/bin' -c 'WORKDIR /app'
    rm -rf "$d"
  fi
  if ! curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      "http://$REGISTRY/v2/test/busybox/manifests/1" >/dev/null; then
    DOCKER_HOST="unix://$SOCK" docker tag localhost/test-busybox:latest "$REGISTRY/test/busybox:1"
    DOCKER_HOST="unix://$SOCK" docker push "$REGISTRY/test/busybox:1" >/dev/null
    DOCKER_HOST="unix://$SOCK" docker rmi "$REGISTRY/test/busybox:1" >/dev/null
  fi
}

remove_test_containers() {
  ping || return 0
  local ids id
  ids=$(curl -s --unix-socket "$SOCK" "$API/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.pryv.test%22%5D%7D" |
    { grep -o '"Id":"[0-9a-f]*"' || true; } | cut -d'"' -f4)
  for id in $ids; do # podman answers 500 to the first delete after its monitor was killed
    curl -sf -o /dev/null -X DELETE --unix-socket "$SOCK" "$API/containers/$id?force=1&v=1" ||
      curl -sf -o /dev/null -X DELETE --unix-socket "$SOCK" "$API/containers/$id?force=1&v=1" || true
  done
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    if ping; then
      log "$ENGINE already answering on $SOCK"
    else
      stop_pid "$PIDFILE"
      rm -f "$SOCK"
      case "$ENGINE" in
        docker) start_dockerd ;;
        podman) start_podman ;;
        *) log "unknown PRYV_ENGINE=$ENGINE (docker or podman)"; exit 2 ;;
      esac
      wait_ping
    fi
    registry_up || start_registry
    build_images
    exports
    ;;
  stop)
    remove_test_containers
    stop_pid "$PIDFILE"
    rm -f "$SOCK"
    if [ "$ENGINE" = docker ]; then
      # dockerd leaves <exec-root>/netns/default and its data-root mounted; without this $DIR cannot be removed.
      awk -v d="$DIR/data" -v e="$DIR/exec/" '$2 == d || index($2, e) == 1 {print $2}' /proc/mounts | sort -r |
        xargs -r -n1 umount || log "some mounts under $DIR stay (see /proc/mounts)"
    fi
    # The registry is shared by both engines: it stops with the last one.
    other=podman; [ "$ENGINE" = podman ] && other=docker
    if curl -sf -m 2 --unix-socket "$DIR/$other.sock" http://d/_ping >/dev/null 2>&1; then
      log "registry left running for $other"
    else
      stop_pid "$REG_PIDFILE"
    fi
    log "stopped $ENGINE"
    ;;
  status)
    if ping; then log "$ENGINE answering on $SOCK"; else log "$ENGINE not answering on $SOCK"; exit 1; fi
    if registry_up; then log "registry answering on $REGISTRY"; else log "registry not answering on $REGISTRY"; exit 1; fi
    exports
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
