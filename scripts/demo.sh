#!/usr/bin/env bash
# Install Torace if needed, then run the bundled demo on the embedded default:
# SQLite, Huey on SQLite and mail written to instance/mail. Extra arguments go
# to `torace demo` (for example --no-serve).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/torace demo "$@"
