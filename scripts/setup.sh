#!/usr/bin/env bash
# Prepare a fresh checkout: npm dependencies, the pulumi CLI (built from Go source) and the Node.js
# plugin launchers in .tools/bin. Idempotent: it only does work that is missing or out of date.
# Only the npm registry and the Go module proxy are needed.
#
# Afterwards `source scripts/pulumi-env.sh` puts .tools/bin on PATH and points pulumi at a file backend.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PULUMI_PIN="v3.274.1"   # must match tools/pulumi-cli/go.mod
BIN="$ROOT/.tools/bin"
export PULUMI_SKIP_UPDATE_CHECK=true

say() { printf 'setup: %s\n' "$*"; }

# --- npm dependencies ------------------------------------------------------------------------------------
LOCK_HASH="$(sha256sum package-lock.json | cut -d' ' -f1)"
STAMP="node_modules/.setup-lock.sha256"
if [ -d node_modules ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$LOCK_HASH" ]; then
    say "node_modules up to date"
elif [ -d node_modules ] && [ -f node_modules/.package-lock.json ] \
    && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    # npm itself installed this tree after the last lockfile change (npm install/ci rewrite
    # node_modules/.package-lock.json at the end): adopt it instead of reinstalling.
    echo "$LOCK_HASH" > "$STAMP"
    say "node_modules adopted (npm installed it after the last package-lock.json change)"
else
    say "npm ci ..."
    npm ci --no-audit --no-fund
    echo "$LOCK_HASH" > "$STAMP"
    say "npm ci done"
fi

# --- pulumi CLI ------------------------------------------------------------------------------------------
mkdir -p "$BIN"
tool_version() { "$1" version 2>/dev/null | head -n1 || true; }

ambient_pulumi() {
    # A pulumi on PATH that is not ours.
    local dir
    local IFS=:
    for dir in $PATH; do
        [ -n "$dir" ] && [ "$dir" != "$BIN" ] && [ -x "$dir/pulumi" ] && { printf '%s' "$dir/pulumi"; return; }
    done
}

wait_for_other_build() {
    # Somebody (another setup run, or a manual build) may be building the same binary right now.
    local waited=0
    while pgrep -f -- "go build .*-o ($BIN|\.tools/bin)/pulumi " >/dev/null 2>&1; do
        [ "$waited" = 0 ] && say "waiting for a pulumi build already in progress ..."
        waited=1
        sleep 5
    done
}

wait_for_other_build
if [ -x "$BIN/pulumi" ] && [ "$(tool_version "$BIN/pulumi")" = "$PULUMI_PIN" ]; then
    say "pulumi $PULUMI_PIN already built (.tools/bin/pulumi)"
elif [ ! -e "$BIN/pulumi" ] && [ -n "$(ambient_pulumi)" ]; then
    say "using pulumi from PATH: $(ambient_pulumi) ($(tool_version "$(ambient_pulumi)"); pinned is $PULUMI_PIN)"
else
    command -v go >/dev/null || { echo "setup: go is required to build pulumi $PULUMI_PIN" >&2; exit 1; }
    exec 9>"$ROOT/.tools/.pulumi-build.lock"
    flock 9
    if [ -x "$BIN/pulumi" ] && [ "$(tool_version "$BIN/pulumi")" = "$PULUMI_PIN" ]; then
        say "pulumi $PULUMI_PIN built meanwhile by another run"
    else
        say "building pulumi $PULUMI_PIN from Go source (tools/pulumi-cli; takes a while) ..."
        start=$SECONDS
        (
            cd tools/pulumi-cli
            CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
                -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_PIN" \
                -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
        )
        got="$(tool_version "$BIN/pulumi")"
        if [ "$got" != "$PULUMI_PIN" ]; then
            echo "setup: built .tools/bin/pulumi reports '$got', expected $PULUMI_PIN" >&2
            exit 1
        fi
        say "pulumi $PULUMI_PIN built in $((SECONDS - start))s"
    fi
    exec 9>&-
fi

# --- plugin launchers ------------------------------------------------------------------------------------
# pulumi-language-nodejs: the Go language host cannot be built here (its module is not on the proxy), so
# the CLI gets a JS implementation (tools/language-host). pulumi-resource-pulumi-nodejs: dynamic providers.
for launcher in pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do
    src="tools/language-host/bin/$launcher"
    if [ -x "$BIN/$launcher" ] && cmp -s "$src" "$BIN/$launcher"; then
        continue
    fi
    install -m 0755 "$src" "$BIN/$launcher"
    say "installed .tools/bin/$launcher"
done
say "ready: source scripts/pulumi-env.sh to use .tools/bin/pulumi with the file backend"
