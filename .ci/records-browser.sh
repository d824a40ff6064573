#!/bin/sh
# Tests the patient report page of package records in a real headless
# Chromium, installing Debian's chromium package when it is missing, and
# refreshes the screenshot kept in docs/.
#
#   .ci/records-browser.sh
set -eu
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-dejavu-core
fi
HEALTHLEDGER_BROWSER=1 HEALTHLEDGER_SCREENSHOT="$PWD/docs/patient-report.png" \
	go test -count=1 -run TestReportInHeadlessChromium -v ./examples/ehr/
