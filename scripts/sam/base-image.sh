#!/usr/bin/env bash
# Builds and imports a LOCAL STAND-IN for the Lambda base image
#   public.ecr.aws/lambda/provided:al2023-x86_64
# for machines that cannot pull the real one. It is NOT the AWS image: it holds only what the
# function's `bootstrap` needs to start (its shared libraries, found with `ldd`, copied from this
# machine at their `ldd` paths), busybox (Debian `busybox-static`) for /bin/sh, mv, chmod, ...
# (the Dockerfile `sam local invoke` derives from the base image runs
# `RUN mv /var/rapid/aws-lambda-rie-x86_64 /var/rapid/aws-lambda-rie && chmod +x ...`), the CA
# bundle, and the AL2023 image's environment (LAMBDA_TASK_ROOT, PATH, LD_LIBRARY_PATH, ...).
# The image carries the label org.opencontainers.image.title="STAND-IN ..." and the file
# /STANDIN-NOT-THE-AWS-IMAGE.txt.
#
#   scripts/sam/base-image.sh                 # import unless an up-to-date stand-in is present
#   FORCE=1 scripts/sam/base-image.sh         # re-import
#   BOOTSTRAP=path/to/bootstrap scripts/sam/base-image.sh
#
# An image with that tag that is not our stand-in (e.g. the real one, pulled) is left alone.
# The stand-in records the library list it was made for (label
# io.salesloft-webhooks.standin.libs) and is re-imported when the bootstrap's libraries change.
# After (re)importing, sam's derived image (…:al2023-rapid-x86_64) is removed so that sam
# rebuilds it from the new base. x86_64 only: the libraries come from this (x86_64) machine.
#
# Uses DOCKER_HOST if set, else asks scripts/sam/container-engine.sh for an engine.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

IMAGE=public.ecr.aws/lambda/provided:al2023-x86_64
RAPID_IMAGE=public.ecr.aws/lambda/provided:al2023-rapid-x86_64
TITLE_LABEL=org.opencontainers.image.title
LIBS_LABEL=io.salesloft-webhooks.standin.libs
TITLE="STAND-IN for $IMAGE (local, not the AWS image)"
log() { echo "base-image: $*" >&2; }

[[ $(uname -m) == x86_64 ]] || { log "this stand-in can only be made on x86_64"; exit 1; }

export DOCKER_HOST=${DOCKER_HOST:-$("$SAM_SCRIPTS/container-engine.sh")}
if [[ $DOCKER_HOST == unix:///run/podman/podman.sock ]] && command -v podman >/dev/null; then
  export CONTAINERS_CONF=$SAM_SCRIPTS/containers.conf
  ENGINE=(podman)
else
  ENGINE=(docker)
fi

# --- the binary and its libraries ----------------------------------------------------------
BOOTSTRAP=${BOOTSTRAP:-}
if [[ -z $BOOTSTRAP ]]; then
  for candidate in .aws-sam/build/WebhookFunction/bootstrap target/lambda/webhook/bootstrap; do
    [[ -f $candidate ]] && { BOOTSTRAP=$candidate; break; }
  done
fi
[[ -n $BOOTSTRAP && -f $BOOTSTRAP ]] || { log "no bootstrap found: run scripts/sam/build.sh first"; exit 1; }

# Every absolute path ldd names (libraries and the program interpreter), sorted.
mapfile -t LIBS < <(ldd "$BOOTSTRAP" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u)
((${#LIBS[@]})) || { log "ldd found no libraries for $BOOTSTRAP (static binary?)"; }
LIBS_VALUE=$(IFS=,; echo "${LIBS[*]}")

# --- present already? ----------------------------------------------------------------------
if [[ -z ${FORCE:-} ]] && "${ENGINE[@]}" image inspect "$IMAGE" >/dev/null 2>&1; then
  title=$("${ENGINE[@]}" image inspect --format "{{ index .Config.Labels \"$TITLE_LABEL\" }}" "$IMAGE" 2>/dev/null || true)
  libs=$("${ENGINE[@]}" image inspect --format "{{ index .Config.Labels \"$LIBS_LABEL\" }}" "$IMAGE" 2>/dev/null || true)
  if [[ $title != STAND-IN* ]]; then
    log "$IMAGE is present and is not our stand-in (the real image?): using it as it is"
    exit 0
  fi
  if [[ $libs == "$LIBS_VALUE" ]]; then
    log "stand-in $IMAGE is present and up to date"
    exit 0
  fi
  log "stand-in $IMAGE was made for other libraries ($libs): re-importing"
fi

# --- busybox (static) ----------------------------------------------------------------------
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || { log "need root to apt-get install busybox-static"; exit 1; }
  log "installing busybox-static with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends busybox-static >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends busybox-static >&2; }
fi
BUSYBOX=$(dpkg -L busybox-static | grep -m1 -E '/bin/busybox$')
if ldd "$BUSYBOX" >/dev/null 2>&1; then log "$BUSYBOX is not statically linked"; exit 1; fi

# --- root filesystem -----------------------------------------------------------------------
ROOTFS=$(mktemp -d "${TMPDIR:-/tmp}/lambda-standin.XXXXXX")
trap 'rm -rf "$ROOTFS"' EXIT
mkdir -p "$ROOTFS"/{bin,usr/bin,usr/lib64,etc/pki/tls/certs,etc/ssl/certs,proc,sys,dev,opt}
mkdir -p "$ROOTFS"/var/{task,runtime,rapid,lang/lib} "$ROOTFS"/tmp
chmod 1777 "$ROOTFS/tmp"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [[ $applet == busybox ]] || ln -s busybox "$ROOTFS/bin/$applet"
done
for lib in "${LIBS[@]}"; do
  mkdir -p "$ROOTFS$(dirname "$lib")"
  cp -L "$lib" "$ROOTFS$lib"
done
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [[ -f $bundle ]]; then
    cp -L "$bundle" "$ROOTFS/etc/pki/tls/certs/ca-bundle.crt"
    cp -L "$bundle" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    break
  fi
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$ROOTFS/etc/group"
printf 'hosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"
cat >"$ROOTFS/STANDIN-NOT-THE-AWS-IMAGE.txt" <<EOF
This image is a local stand-in tagged $IMAGE, made by
scripts/sam/base-image.sh on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ).
It is NOT the AWS Lambda base image: it only holds the shared libraries of
$BOOTSTRAP (from ldd: ${LIBS[*]}),
busybox and a CA bundle, enough for \`sam local invoke\` to run the function.
Machines that can pull the real image should use that instead.
EOF

# --- import --------------------------------------------------------------------------------
log "importing $IMAGE (${ENGINE[*]} import; libraries: ${LIBS[*]})"
"${ENGINE[@]}" rmi -f "$IMAGE" >/dev/null 2>&1 || true
tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -cf - . | "${ENGINE[@]}" import \
  --change "LABEL $TITLE_LABEL=\"$TITLE\"" \
  --change "LABEL org.opencontainers.image.description=\"Made by scripts/sam/base-image.sh for sam local invoke on machines that cannot pull the AWS Lambda base image. Not the AWS image.\"" \
  --change "LABEL $LIBS_LABEL=\"$LIBS_VALUE\"" \
  --change 'ENV LANG=en_US.UTF-8' \
  --change 'ENV TZ=:/etc/localtime' \
  --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin' \
  --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'WORKDIR /var/task' \
  - "$IMAGE" >/dev/null
# sam's derived image was built FROM the previous base: drop it so sam rebuilds it.
if "${ENGINE[@]}" image inspect "$RAPID_IMAGE" >/dev/null 2>&1; then
  "${ENGINE[@]}" rmi -f "$RAPID_IMAGE" >/dev/null && log "removed the stale derived image $RAPID_IMAGE"
fi

# --- smoke test: busybox works and the bootstrap's dynamic linking resolves ----------------
# Without configuration the function exits 1 after logging "invalid configuration"; a missing
# library would make the loader fail with exit 127 before that.
out=$("${ENGINE[@]}" run --rm -v "$(cd "$(dirname "$BOOTSTRAP")" && pwd)/$(basename "$BOOTSTRAP"):/var/task/bootstrap:ro" \
  "$IMAGE" /bin/sh -c 'mv --help >/dev/null 2>&1; chmod --help >/dev/null 2>&1; /var/task/bootstrap' 2>&1) && rc=0 || rc=$?
if grep -q 'invalid configuration' <<<"$out"; then
  log "smoke test passed: the bootstrap starts in the stand-in (and stops for want of configuration)"
else
  log "smoke test FAILED (exit $rc): $out"
  exit 1
fi
"${ENGINE[@]}" image inspect --format "{{ .Id }} {{ index .Config.Labels \"$TITLE_LABEL\" }}" "$IMAGE" >&2
