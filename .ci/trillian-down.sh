#!/usr/bin/env bash
# Stops the throwaway Trillian + PostgreSQL by PID; see trillian.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/trillian.sh" down "$@"
