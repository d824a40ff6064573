#!/usr/bin/env bash
# Starts the throwaway Trillian + PostgreSQL; see trillian.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/trillian.sh" up "$@"
