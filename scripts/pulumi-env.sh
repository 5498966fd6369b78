# shellcheck shell=bash
# Source me:  source scripts/pulumi-env.sh
# Selects the pulumi that scripts/setup.sh prepared and a local file backend, with update checks and registry
# lookups off. A pulumi already on PATH (a regular install) is used as it is, with its own language host and
# PULUMI_HOME. Otherwise .tools/bin (pulumi with the official plugins next to it, as a regular install has them)
# is appended to PATH, so it shadows nothing, and plugins live in .tools/pulumi-home.
# PULUMI_CONFIG_PASSPHRASE is deliberately NOT set here: the devnet tooling sets it itself.

__pulumi_env_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
__pulumi_env_bin="${__pulumi_env_root}/.tools/bin"
__pulumi_env_ambient=""
__pulumi_env_ifs="$IFS"
IFS=:
for __pulumi_env_dir in $PATH; do
    if [ -n "$__pulumi_env_dir" ] && [ "$__pulumi_env_dir" != "$__pulumi_env_bin" ] && [ -x "$__pulumi_env_dir/pulumi" ]; then
        __pulumi_env_ambient="$__pulumi_env_dir/pulumi"
        break
    fi
done
IFS="$__pulumi_env_ifs"

if [ -z "$__pulumi_env_ambient" ]; then
    case ":${PATH}:" in
        *":${__pulumi_env_bin}:"*) ;;
        *) PATH="${PATH:+${PATH}:}${__pulumi_env_bin}" ;;
    esac
    export PATH
    export PULUMI_HOME="${__pulumi_env_root}/.tools/pulumi-home"
fi

# Local file (DIY) backend; stacks go to <repo>/.pulumi-state/.pulumi/stacks/<project>/<stack>.json.
mkdir -p "${__pulumi_env_root}/.pulumi-state"
export PULUMI_BACKEND_URL="file://${__pulumi_env_root}/.pulumi-state"

# No update check and no registry lookups for package names. Plugins come from setup (or Pulumi's usual
# installation on first use).
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
# Quieter file backend: the project-scoped layout is the default for a new state dir anyway.
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true

unset __pulumi_env_root __pulumi_env_bin __pulumi_env_ambient __pulumi_env_ifs __pulumi_env_dir
