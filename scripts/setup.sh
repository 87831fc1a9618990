#!/usr/bin/env bash
# Set up a development environment from a fresh clone: a virtualenv in .venv with
# byob-core and every plugin installed editable, the test and benchmark tools, and the
# local cloud stand-ins (moto server, fake-gcs-server, gcp-storage-emulator, Azurite, and
# Ceph RGW from Debian's packages).
# Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip

packages=(-e "./core[dask,inventory]")
for plugin in byob-aws byob-minio byob-gcp byob-azure; do
  if [ -f "plugins/$plugin/pyproject.toml" ]; then
    packages+=(-e "./plugins/$plugin[test]")
  fi
done
# The outside plugins the tests install as a third party would (each only its own
# package) and the plugin guide's S3-compatible example: editable, so that their entry
# points register. (The in-memory example is installed by its own test, into a target.)
for extra in tests/outside/* docs/examples/byob-b2; do
  if [ -f "$extra/pyproject.toml" ]; then
    packages+=(-e "./$extra")
  fi
done
.venv/bin/python -m pip install --quiet "${packages[@]}" -r requirements-dev.txt

# Ceph RADOS Gateway (an S3-compatible server that verifies SigV4) from Debian's packages.
# Tests fail, not skip, without it, so a machine that cannot install it fails here.
ceph_missing=0
for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool; do
  command -v "$tool" >/dev/null 2>&1 || ceph_missing=1
done
if [ "$ceph_missing" = 1 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    radosgw ceph-mon ceph-osd >/dev/null
fi

# Azurite (Azure Blob stand-in) from the npm registry, kept out of the tree git sees.
if [ ! -x .cache/node/node_modules/.bin/azurite-blob ]; then
  mkdir -p .cache/node
  (cd .cache/node && npm install --silent --no-audit --no-fund --prefix . azurite@3 >/dev/null)
fi
echo "setup done: .venv ready; run .venv/bin/python -m byob_core --help"
