#!/usr/bin/env bash
# Copies the JavaScript client (clients/js/*.js) into the server's resources, which serve it at
# /v1/client.js and /v1/client/<file>.js. SwiftPM takes resources from inside the target only;
# ClientScriptTests fails when the copies differ from clients/js.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f Sources/SwitchboardServer/Resources/client/*.js
cp clients/js/*.js Sources/SwitchboardServer/Resources/client/
echo "copied: $(ls Sources/SwitchboardServer/Resources/client | tr '\n' ' ')"
