#!/usr/bin/env bash
# Creates the certificates for l4sim's control ports (mutual TLS): a private CA and, signed
# by it, a certificate and key per name.
#   scripts/make-control-certs.sh DIR [NAME...]
# NAME defaults to: server-1 server-2 server-3 lb client sim. Writes DIR/ca.crt,
# DIR/ca.key (kept to sign more names later) and DIR/NAME.crt, DIR/NAME.key; keys are
# mode 600. Files that exist are kept, so running it again only adds missing names
# (remove DIR to start over). Any certificate the CA signed is accepted by every control
# port and by sim: the CA is the trust boundary. Needs the openssl command.
# Use a service's files as *_CONTROL_CERT=DIR/NAME.crt, *_CONTROL_KEY=DIR/NAME.key,
# *_CONTROL_CA=DIR/ca.crt.
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
dir=$1
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(server-1 server-2 server-3 lb client sim)
days=${L4SIM_CERT_DAYS:-825}

mkdir -p "$dir"
umask 077
if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
    -subj "/CN=l4sim control CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  echo "make-control-certs: created $dir/ca.crt"
fi
for name in "${names[@]}"; do
  case "$name" in
    '' | *[!A-Za-z0-9._-]*) echo "make-control-certs: \"$name\" is not a name" >&2; exit 2 ;;
  esac
  if [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ]; then
    continue
  fi
  ext=$(mktemp)
  trap 'rm -f "$ext" "$dir/$name.csr"' EXIT
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s\n' \
    "$name" >"$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days "$days" -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$ext" "$dir/$name.csr"
  trap - EXIT
  echo "make-control-certs: created $dir/$name.crt"
done
# Certificates are public; the keys stay readable by their owner only.
chmod 644 "$dir"/*.crt
