# shellcheck shell=bash
# Source me:  source scripts/pulumi-env.sh
# Points the pulumi CLI at this repo's toolchain (.tools/bin, made by scripts/setup.sh) and at a local
# file backend, with everything that would reach the network switched off.
# PULUMI_CONFIG_PASSPHRASE is deliberately NOT set here: the devnet tooling sets it itself.

__pulumi_env_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"

# .tools/bin first: pulumi, pulumi-language-nodejs (JS shim), pulumi-resource-pulumi-nodejs.
case "${PATH}:" in
    "${__pulumi_env_root}/.tools/bin:"*) ;;
    *) PATH="${__pulumi_env_root}/.tools/bin:${PATH}" ;;
esac
export PATH

# Plugins, credentials and logs live in the repo, not in ~/.pulumi.
export PULUMI_HOME="${__pulumi_env_root}/.tools/pulumi-home"
# Local file (DIY) backend; stacks go to <repo>/.pulumi-state/.pulumi/stacks/<project>/<stack>.json.
mkdir -p "${__pulumi_env_root}/.pulumi-state"
export PULUMI_BACKEND_URL="file://${__pulumi_env_root}/.pulumi-state"

# No network: no update check, no plugin downloads, no registry lookups for package names.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
# Quieter file backend: the project-scoped layout is the default for a new state dir anyway.
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true

unset __pulumi_env_root
