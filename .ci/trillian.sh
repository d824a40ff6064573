#!/usr/bin/env bash
# Runs a throwaway Trillian (log server + log signer, v1.8.0) on PostgreSQL 15
# on 127.0.0.1, for healthledger's trillianstore integration tests and
# benchmarks.
#
#   .ci/trillian.sh up       build (if needed) and start everything, create a
#                            LOG and a PREORDERED_LOG tree, write the state file
#   .ci/trillian.sh servers  (re)start the log server and signer on the same
#                            ports and database (after a kill), update PIDs
#   .ci/trillian.sh down     SIGKILL everything by PID and remove the data dir
#
# State: $HEALTHLEDGER_TRILLIAN_DIR (default /tmp/healthledger-trillian)
# holds the PostgreSQL data dir, logs and state.env, a sourceable file with
# the addresses, tree IDs and PIDs. Tests find it through
# HEALTHLEDGER_TRILLIAN=<dir>/state.env.
# Ports: free ports are picked unless HL_PG_PORT, HL_LOG_RPC_PORT,
# HL_LOG_HTTP_PORT, HL_SIGNER_RPC_PORT, HL_SIGNER_HTTP_PORT are set.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${HEALTHLEDGER_TRILLIAN_DIR:-/tmp/healthledger-trillian}"
state="$dir/state.env"
bin="${HEALTHLEDGER_TRILLIAN_BIN:-$here/bin}"
pgbin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # host port seconds
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "trillian: nothing listening on $1:$2 after $3s" >&2
	return 1
}

start_servers() {
	# shellcheck disable=SC1090
	source "$state"
	local uri="postgresql:///trillian?host=127.0.0.1&port=$HL_PG_PORT&user=postgres"
	local common=(--storage_system=postgresql --quota_system=noop "--postgresql_uri=$uri" --logtostderr)
	"$bin/trillian_log_server" "${common[@]}" \
		--rpc_endpoint="127.0.0.1:$HL_LOG_RPC_PORT" --http_endpoint="127.0.0.1:$HL_LOG_HTTP_PORT" \
		--tree_gc=false >>"$dir/log_server.log" 2>&1 &
	local server=$!
	"$bin/trillian_log_signer" "${common[@]}" \
		--rpc_endpoint="127.0.0.1:$HL_SIGNER_RPC_PORT" --http_endpoint="127.0.0.1:$HL_SIGNER_HTTP_PORT" \
		--force_master --pre_election_pause=10ms \
		--sequencer_interval="${HL_SEQUENCER_INTERVAL:-10ms}" --batch_size="${HL_SEQUENCER_BATCH:-4096}" \
		--num_sequencers=2 >>"$dir/log_signer.log" 2>&1 &
	local signer=$!
	sed -i '/^HL_LOG_SERVER_PID=/d; /^HL_LOG_SIGNER_PID=/d' "$state"
	printf 'HL_LOG_SERVER_PID=%s\nHL_LOG_SIGNER_PID=%s\n' "$server" "$signer" >>"$state"
	wait_port 127.0.0.1 "$HL_LOG_RPC_PORT" 30
	wait_port 127.0.0.1 "$HL_SIGNER_HTTP_PORT" 30
}

up() {
	if [[ -f "$state" ]]; then
		echo "trillian: $state exists from an earlier run; stopping that one first"
		down
	fi
	if [[ ! -x "$pgbin/initdb" ]]; then
		echo "trillian: installing PostgreSQL 15 (Debian package postgresql-15)"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
	fi
	"$here/trillian/build.sh" "$bin"
	mkdir -p "$dir"
	chmod 755 "$dir"
	local pgdata="$dir/pgdata"
	mkdir -p "$pgdata"
	chown postgres:postgres "$pgdata"
	local pg_port="${HL_PG_PORT:-$(free_port)}"
	cat >"$state" <<-STATE
		HL_TRILLIAN_DIR=$dir
		HL_TRILLIAN_SCRIPT=$here/trillian.sh
		HL_PG_PORT=$pg_port
		HL_LOG_RPC_PORT=${HL_LOG_RPC_PORT:-$(free_port)}
		HL_LOG_HTTP_PORT=${HL_LOG_HTTP_PORT:-$(free_port)}
		HL_SIGNER_RPC_PORT=${HL_SIGNER_RPC_PORT:-$(free_port)}
		HL_SIGNER_HTTP_PORT=${HL_SIGNER_HTTP_PORT:-$(free_port)}
	STATE
	runuser -u postgres -- "$pgbin/initdb" -D "$pgdata" -A trust -U postgres >"$dir/initdb.log" 2>&1
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w \
		-o "-k '' -h 127.0.0.1 -p $pg_port" start >/dev/null
	printf 'HL_PG_PID=%s\n' "$(head -1 "$pgdata/postmaster.pid")" >>"$state"
	local psql=(psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres)
	"${psql[@]}" -d postgres -c 'CREATE DATABASE trillian'
	local src
	src="$(cd "$here/trillian" && go list -m -f '{{.Dir}}' github.com/google/trillian)"
	"${psql[@]}" -d trillian -f "$src/storage/postgresql/schema/storage.sql" >/dev/null
	start_servers
	# shellcheck disable=SC1090
	source "$state"
	local log_tree pre_tree
	log_tree="$("$bin/createtree" --admin_server="127.0.0.1:$HL_LOG_RPC_PORT" --tree_type=LOG \
		--max_root_duration=0 --display_name=healthledger 2>>"$dir/createtree.log")"
	pre_tree="$("$bin/createtree" --admin_server="127.0.0.1:$HL_LOG_RPC_PORT" --tree_type=PREORDERED_LOG \
		--max_root_duration=0 --display_name=healthledger-pre 2>>"$dir/createtree.log")"
	printf 'HL_TRILLIAN_ADDR=127.0.0.1:%s\nHL_LOG_TREE=%s\nHL_PREORDERED_TREE=%s\n' \
		"$HL_LOG_RPC_PORT" "$log_tree" "$pre_tree" >>"$state"
	echo "trillian: up; export HEALTHLEDGER_TRILLIAN=$state"
}

down() {
	if [[ -f "$state" ]]; then
		# shellcheck disable=SC1090
		source "$state"
		local pid
		for pid in "${HL_LOG_SERVER_PID:-}" "${HL_LOG_SIGNER_PID:-}" "${HL_PG_PID:-}"; do
			[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
		done
		# Wait for the killed processes to go before removing their files.
		for pid in "${HL_LOG_SERVER_PID:-}" "${HL_LOG_SIGNER_PID:-}" "${HL_PG_PID:-}"; do
			while [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
		done
	fi
	rm -rf "$dir"
	echo "trillian: down"
}

case "${1:-}" in
up) up ;;
servers) start_servers ;;
down) down ;;
*)
	echo "usage: $0 up|servers|down" >&2
	exit 2
	;;
esac
