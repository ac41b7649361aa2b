#!/bin/sh
# Render nginx.conf from the PROXY_* environment (docker/proxy.Dockerfile sets the defaults), then run nginx
# in the foreground as the container's main process.
set -eu
for file in "$PROXY_TLS_CERT" "$PROXY_TLS_KEY"; do
  [ -r "$file" ] || { echo "proxy: no readable $file: mount the certificate and key (docs/deployment-proxy.md)" >&2; exit 1; }
done
conf=/tmp/nginx.conf
sed -e "s|@LISTEN_PORT@|$PROXY_LISTEN_PORT|g" -e "s|@UPSTREAM@|$PROXY_UPSTREAM|g" \
    -e "s|@MAX_BODY@|$PROXY_MAX_BODY|g" -e "s|@HEADER_TIMEOUT@|$PROXY_HEADER_TIMEOUT|g" \
    -e "s|@BODY_TIMEOUT@|$PROXY_BODY_TIMEOUT|g" -e "s|@READ_TIMEOUT@|$PROXY_READ_TIMEOUT|g" \
    -e "s|@CONNECTIONS_PER_IP@|$PROXY_CONNECTIONS_PER_IP|g" \
    -e "s|@TLS_CERT@|$PROXY_TLS_CERT|g" -e "s|@TLS_KEY@|$PROXY_TLS_KEY|g" \
    /etc/nginx/nginx.conf.template >"$conf"
exec nginx -e stderr -c "$conf" -g "daemon off;"
