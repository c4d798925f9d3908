#!/usr/bin/env bash
# Makes a development PKI with the openssl command: a CA, a server
# certificate for localhost, and one client certificate per role, named
# "<role>-dev" (the principal the API sees). Idempotent: what exists is kept.
#
#   deploy/pki/make-dev-pki.sh [DIR]      (default: var/pki)
#
# Keys are EC P-256, mode 0600. Not for production: use your own CA there.
set -euo pipefail

dir=${1:-var/pki}
days=${LANEVAULT_PKI_DAYS:-825}
mkdir -p "$dir"
umask 077

if [[ ! -s "$dir/ca.pem" || ! -s "$dir/ca.key" ]]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days "$days" \
    -subj "/O=lanevault dev/CN=lanevault dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "made CA $dir/ca.pem"
fi

# issue NAME KIND [extra SAN]
issue() {
  local name=$1 kind=$2 san=$3
  [[ -s "$dir/$name.pem" && -s "$dir/$name.key" ]] && return 0
  local ext
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$kind"
    echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" \
    -subj "/O=lanevault dev/CN=$name" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -out "$dir/$name.pem" -days "$days" -extfile "$ext" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
  chmod 600 "$dir/$name.key"
  echo "made $dir/$name.pem"
}

issue server serverAuth "DNS:localhost,IP:127.0.0.1,IP:::1"
for role in lane operator inspector auditor compliance; do
  issue "$role-dev" clientAuth "URI:spiffe://lanevault.dev/$role/dev"
done
chmod 644 "$dir"/*.pem
