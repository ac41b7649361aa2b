#!/bin/sh
# `pip install` inside an image build (the Dockerfile's builder stages).
# A CA bundle handed to the build as the BuildKit secret `pip-cert` (a TLS-inspecting proxy) becomes pip's
# --cert for this one command: the secret is mounted, never copied, so no layer keeps it.
set -eu
if [ -s /run/secrets/pip-cert ]; then
  export PIP_CERT=/run/secrets/pip-cert
fi
exec pip install "$@"
