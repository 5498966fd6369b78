#!/usr/bin/env bash
# Prepare a fresh checkout: npm dependencies, then a pulumi toolchain. Idempotent: it only does work that is
# missing or out of date. Only the npm registry and the Go module proxy are needed.
#
# A pulumi already on PATH (a regular Pulumi install) is used as it is, with its own language host and
# plugin cache: nothing is built, nothing of ours goes on PATH. Otherwise pulumi is built from Go source into
# .tools/bin and Pulumi's official plugins from ../shared/plugins (see its README) are installed the way a
# regular install has them: the Node.js language host and the dynamic-provider launcher next to the binary,
# the command provider (for @pulumi/command) into the plugin cache with `pulumi plugin install --file`.
#
# Afterwards `source scripts/pulumi-env.sh` selects that pulumi and points it at a file backend.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PULUMI_PIN="v3.274.1"   # must match tools/pulumi-cli/go.mod
BIN="$ROOT/.tools/bin"
COMMAND_PLUGIN_VERSION="v1.2.1"   # the provider @pulumi/command (package.json) drives
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

if [ -n "$(ambient_pulumi)" ]; then
    say "using pulumi from PATH: $(ambient_pulumi) ($(tool_version "$(ambient_pulumi)"); pinned is $PULUMI_PIN)"
elif wait_for_other_build; [ -x "$BIN/pulumi" ] && [ "$(tool_version "$BIN/pulumi")" = "$PULUMI_PIN" ]; then
    say "pulumi $PULUMI_PIN already built (.tools/bin/pulumi)"
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

# --- official plugins ------------------------------------------------------------------------------------
# Built from Pulumi's official sources (../shared/plugins/README.md); the sha256 pins what was checked.
declare -A PLUGIN_SHA256=(
    [pulumi-language-nodejs]=383cae97ed06734ad29ad6a225bdb3e7351f7687797e8375b1f1808eb8b63ae1
    [pulumi-resource-pulumi-nodejs]=a5e3bfde8aa51d3c32a61c35d066d800242a64238b9d7ce382b582c6bdb36ed9
    [pulumi-resource-command]=6eb64caa7c74d0aa824817ca5e72b1cb2586759475bc4f67ea4134fc7e1b9f22
)

shared_plugins() {
    # CI has a read-only shared/ beside the clone; a linked git worktree has it beside its main checkout.
    local common dir
    common="$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
    for dir in "$ROOT/../shared/plugins" ${common:+"$common/../../shared/plugins"}; do
        [ -d "$dir" ] && { (cd "$dir" && pwd); return; }
    done
    return 0
}

checked_plugin() {
    # The path of a shared plugin whose bytes are the pinned ones; fails loudly on any other bytes.
    local file="$PLUGINS/$1" got
    got="$(sha256sum "$file" | cut -d' ' -f1)"
    if [ "$got" != "${PLUGIN_SHA256[$1]}" ]; then
        echo "setup: $file has sha256 $got, expected ${PLUGIN_SHA256[$1]}; refusing to install it" >&2
        exit 1
    fi
    printf '%s' "$file"
}

PLUGINS="$(shared_plugins)"
PULUMI="$BIN/pulumi"
if [ -n "$(ambient_pulumi)" ]; then
    PULUMI="$(ambient_pulumi)"   # its own language host, its own PULUMI_HOME
else
    export PULUMI_HOME="$ROOT/.tools/pulumi-home"
    for host in pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do
        if [ -z "$PLUGINS" ]; then
            [ -x "$BIN/$host" ] && continue
            echo "setup: no Node.js language host for .tools/bin/pulumi: ../shared/plugins is missing and the Go" >&2
            echo "setup: module proxy does not serve it. Install Pulumi (https://www.pulumi.com/docs/install/) and rerun." >&2
            exit 1
        fi
        src="$(checked_plugin "$host")"
        if ! cmp -s "$src" "$BIN/$host"; then
            install -m 0755 "$src" "$BIN/$host"
            say "installed the official $host next to .tools/bin/pulumi"
        fi
    done
fi

# Listed first, grepped after: under pipefail, grep -q closing the pipe early can fail the listing (SIGPIPE).
installed_plugins="$("$PULUMI" plugin ls 2>/dev/null || true)"
if grep -Eq "^command +resource +${COMMAND_PLUGIN_VERSION#v} " <<<"$installed_plugins"; then
    say "command provider $COMMAND_PLUGIN_VERSION already installed"
elif [ -n "$PLUGINS" ]; then
    "$PULUMI" plugin install resource command "$COMMAND_PLUGIN_VERSION" --file "$(checked_plugin pulumi-resource-command)" >/dev/null
    say "installed the command provider $COMMAND_PLUGIN_VERSION into the plugin cache"
else
    say "command provider $COMMAND_PLUGIN_VERSION: Pulumi installs it on first use"
fi
say "ready: source scripts/pulumi-env.sh to use $PULUMI with the file backend"
