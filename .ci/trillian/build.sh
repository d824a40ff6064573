#!/usr/bin/env bash
# Builds the pinned Trillian binaries (trillian_log_server, trillian_log_signer,
# createtree) with PostgreSQL storage and etcd election support into a cache
# directory. Rebuilds only when a binary is missing or the pin (go.mod/go.sum
# of this module) changed since the last build.
#
# Usage: .ci/trillian/build.sh [BIN_DIR]   (default: .ci/bin next to this dir)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-${HEALTHLEDGER_TRILLIAN_BIN:-$here/../bin}}"
mkdir -p "$bin"
bin="$(cd "$bin" && pwd)"

tools=(trillian_log_server trillian_log_signer createtree)
pin="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)"
stamp="$bin/.trillian-pin"

need=0
for t in "${tools[@]}"; do
	[[ -x "$bin/$t" ]] || need=1
done
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$pin" ]]; then
	need=1
fi
if [[ "$need" == 0 ]]; then
	echo "trillian: binaries up to date in $bin (pin $pin)"
	exit 0
fi

echo "trillian: building ${tools[*]} into $bin (pin $pin)"
cd "$here"
pkgs=()
for t in "${tools[@]}"; do
	pkgs+=("github.com/google/trillian/cmd/$t")
done
# -trimpath keeps the build cache reusable across checkouts in different dirs.
go build -trimpath -tags postgresql,etcd -o "$bin/" "${pkgs[@]}"
echo "$pin" >"$stamp"
echo "trillian: built $(cd "$bin" && ls "${tools[@]}" | tr '\n' ' ')"
