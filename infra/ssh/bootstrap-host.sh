#!/usr/bin/env bash
# Enroll a host over SSH:  infra/ssh/bootstrap-host.sh <ssh-target> <host-name> [control-plane-url]
# Prerequisites on the target: the `codepiper` CLI installed, a `codepiper` user, and
# infra/systemd/codepiper-agent.service installed. A short-lived one-time join token is created
# here and sent over the SSH channel's stdin, so it never appears in the remote argv or shell history.
set -euo pipefail
target=${1:?ssh target, e.g. ops@build-07}
name=${2:?host name in the fleet}
url=${3:-${CODEPIPER_URL:?control plane URL (argument 3 or CODEPIPER_URL)}}
token=$(codepiper hosts token create --ttl 10m --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).token)')

read -r -d '' remote <<'REMOTE' || true
set -euo pipefail
IFS= read -r CODEPIPER_JOIN_TOKEN
export CODEPIPER_JOIN_TOKEN
sudo --preserve-env=CODEPIPER_JOIN_TOKEN -u codepiper env CODEPIPER_STATE_DIR=/var/lib/codepiper-agent codepiper agent join "$1" --name "$2"
sudo systemctl enable --now codepiper-agent
REMOTE

printf '%s\n' "$token" | ssh "$target" "bash -c $(printf %q "$remote") bootstrap $(printf %q "$url") $(printf %q "$name")"
echo "enrolled $name; check with: codepiper hosts"
