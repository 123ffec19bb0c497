# shellcheck shell=bash
# Prometheus's promtool and Alertmanager's amtool, for the alert-rule tests (infra/monitoring). Installs Debian's
# packages when missing, as pg.sh does for PostgreSQL; never starts their system services (the packages' init scripts
# do not run without systemd, and the tests start their own throwaway Prometheus).

monitoring_ensure_installed() {
  if command -v promtool >/dev/null && command -v amtool >/dev/null && command -v prometheus >/dev/null; then return 0; fi
  echo "[monitoring] promtool/amtool/prometheus not found; installing the Debian packages 'prometheus' and 'prometheus-alertmanager'" >&2
  if [ "$(id -u)" != "0" ]; then echo "[monitoring] need root to apt-get install prometheus prometheus-alertmanager" >&2; return 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >&2
  command -v promtool >/dev/null && command -v amtool >/dev/null && command -v prometheus >/dev/null \
    || { echo "[monitoring] install did not provide promtool, amtool and prometheus" >&2; return 1; }
}

# ops_summary DIR: one line on the operational coverage (issue 11): runbooks, the tests that execute them (from the TRX
# results in DIR), and the alert rules unit-tested with promtool.
ops_summary() {
  local runbooks tests passed loaded pending
  runbooks=$(grep -l '^---$' "$FAIRWAY_ROOT"/docs/runbooks/*.md 2>/dev/null | wc -l)
  tests=$(cat "$1"/*.trx 2>/dev/null | grep -o '<UnitTestResult [^>]*testName="Fairway.IntegrationTests.Runbooks.[^"]*"[^>]*>' | wc -l)
  passed=$(cat "$1"/*.trx 2>/dev/null | grep -o '<UnitTestResult [^>]*testName="Fairway.IntegrationTests.Runbooks.[^"]*"[^>]*>' | grep -c 'outcome="Passed"')
  loaded=$(grep -c '^      - alert:' "$FAIRWAY_ROOT/infra/monitoring/alerts.yml")
  pending=$(grep -c '^      - alert:' "$FAIRWAY_ROOT/infra/monitoring/alerts.pending.yml")
  echo "[ops] runbooks: $runbooks; runbook tests (Runbooks namespace): $passed of $tests passed; alert rules unit-tested with promtool: $((loaded + pending)) ($loaded loaded by Prometheus, $pending waiting for their runbooks)" >&2
}
