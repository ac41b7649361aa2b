# The reverse proxy in front of the gateway (docker-compose.yml's `proxy`): Debian bookworm's nginx, so the
# image builds from a Debian base with no image registry (docker/stack-test.sh builds it on its debootstrap
# base). TLS termination, the request-size limit, header/body timeouts and connection limits:
# docs/deployment-proxy.md.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
    && mkdir -p /etc/nginx/tls
COPY docker/proxy/nginx.conf.template /etc/nginx/nginx.conf.template
COPY docker/proxy/entrypoint.sh /usr/local/bin/proxy-entrypoint
# No root: nginx listens on an unprivileged port (compose publishes it as 443) and writes only under /tmp.
USER www-data
ENV PROXY_LISTEN_PORT=8443 PROXY_UPSTREAM=gateway:8000 PROXY_MAX_BODY=6g PROXY_HEADER_TIMEOUT=10s \
    PROXY_BODY_TIMEOUT=30s PROXY_READ_TIMEOUT=600s PROXY_CONNECTIONS_PER_IP=100 \
    PROXY_TLS_CERT=/etc/nginx/tls/tls.crt PROXY_TLS_KEY=/etc/nginx/tls/tls.key
EXPOSE 8443
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/$PROXY_LISTEN_PORT"]
ENTRYPOINT ["/usr/local/bin/proxy-entrypoint"]
