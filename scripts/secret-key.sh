#!/usr/bin/env bash
# Print the path of the studio's secret key file under DIR, making a random key there
# (mode 600) the first time; later runs reuse it, so sessions outlive restarts.
# Usage: scripts/secret-key.sh DIR
set -euo pipefail
dir="$1"
key="$dir/secret_key"
mkdir -p "$dir"
if [ ! -s "$key" ]; then
  (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_' > "$key.new")
  mv "$key.new" "$key"
fi
chmod 600 "$key"
echo "$key"
