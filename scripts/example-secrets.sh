#!/usr/bin/env bash
# Creates the secrets the example configuration in config/ refers to, so that
#   connwatchd --check-config --config config/connwatch.toml --credentials-dir config/credentials
# passes on a fresh clone. Nothing here is a real secret: the client secrets are random
# strings, the SharePoint certificate is a fresh self-signed one. All of it is git-ignored.
#
#   config/credentials/<id>              systemd-credential stand-ins (mode 0600)
#   config/secrets/contoso-mip           a client_secret_file (mode 0600)
#   config/keys/contoso-sharepoint.json  the reference step 5 key file (mode 0600)
#   config/keys/monitor-fabrikam.pem     the Fabrikam observer's private key + certificate (0600)
set -euo pipefail
cd "$(dirname "$0")/../config"
umask 077
mkdir -p credentials secrets keys

rand() { head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40; }
for id in contoso-onedrive contoso-exchange contoso-sharepoint contoso-teams contoso-blob; do
  printf 'Xq8~%s\n' "$(rand)" > "credentials/$id"
done
printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" > credentials/webhook-soc
printf 'zs-%s\n' "$(rand)" > credentials/zscaler-api   # the demo's OneAPI client secret ([zscaler])
printf 'https://hooks.slack.example/services/T0000/B0000/%s\n' "$(rand)" > credentials/webhook-slack-url
printf 'Mq3~%s\n' "$(rand)" > secrets/contoso-mip

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 730 -subj "/CN=Zscaler SharePoint Connector (example)" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
oneline() { awk '{printf "%s\\n", $0}' "$1"; }
printf '{"private_key": "%s", "public_cert": "%s"}\n' "$(oneline "$tmp/key.pem")" "$(oneline "$tmp/cert.pem")" \
  > keys/contoso-sharepoint.json
# The Fabrikam observer (a [[tenant]] monitoring app): one PEM with its key and certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=connwatch monitor (example)" \
  -keyout "$tmp/monitor-key.pem" -out "$tmp/monitor-cert.pem" 2>/dev/null
cat "$tmp/monitor-key.pem" "$tmp/monitor-cert.pem" > keys/monitor-fabrikam.pem
chmod 600 credentials/* secrets/* keys/*
echo "example secrets written under $(pwd)/{credentials,secrets,keys}"
