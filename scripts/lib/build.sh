# shellcheck shell=bash
# Builds the solution once (Release) and exposes the paths of the built executables.
FAIRWAY_CONFIGURATION="${FAIRWAY_CONFIGURATION:-Release}"
FAIRWAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

fairway_bin() { echo "$FAIRWAY_ROOT/src/$1/bin/$FAIRWAY_CONFIGURATION/net10.0/$2"; }
HOST_DLL="$(fairway_bin Fairway.Host Fairway.Host.dll)"
CLI_DLL="$(fairway_bin Fairway.Cli fairway.dll)"

fairway_build() {
  echo "[build] dotnet build Fairway.sln -c $FAIRWAY_CONFIGURATION" >&2
  dotnet build "$FAIRWAY_ROOT/Fairway.sln" -c "$FAIRWAY_CONFIGURATION" -v quiet -nologo -clp:ErrorsOnly >&2
}
