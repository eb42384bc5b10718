#!/usr/bin/env bash
# A local CA and a server certificate for 127.0.0.1 / localhost (benchmark only, never for
# anything real), with Debian's openssl. Writes to $1 (default bench/.build/tls, gitignored):
#   ca.pem ca.key server.pem server.key, and bundle.pem = the system roots + ca.pem (what the
#   peers are told to trust, so each still loads a full root store as it would in AWS).
set -euo pipefail
OUT=${1:-$(cd "$(dirname "$0")/../.." && pwd)/.build/tls}
mkdir -p "$OUT"; cd "$OUT"
[ -s bundle.pem ] && [ -s server.pem ] && exit 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=salesloft-webhooks bench local CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext -out server.pem 2>/dev/null
cat /etc/ssl/certs/ca-certificates.crt ca.pem > bundle.pem
echo "$OUT"
