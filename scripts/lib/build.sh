# shellcheck shell=bash
# Builds the solution once (Release) and exposes the paths of the built executables.
FAIRWAY_CONFIGURATION="${FAIRWAY_CONFIGURATION:-Release}"
FAIRWAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

fairway_bin() { echo "$FAIRWAY_ROOT/src/$1/bin/$FAIRWAY_CONFIGURATION/net10.0/$2"; }
HOST_DLL="$(fairway_bin Fairway.Host Fairway.Host.dll)"
CLI_DLL="$(fairway_bin Fairway.Cli fairway.dll)"

# How a deployable process is published, by the release (scripts/release) and for the main job (scripts/simulate), so the
# simulation runs the host as production runs it: for linux-x64, on the shared ASP.NET Core runtime, with ReadyToRun
# images (docs/decisions.md 2026-12-03 "The host is published with ReadyToRun"): precompiled code for Fairway and its
# packages, so a process started by a deploy or after a crash does not spend its first minutes in the JIT.
FAIRWAY_PUBLISH_ARGS=(-c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -p:FairwaySkipDocs=true)

# fairway_publish_host: publishes Fairway.Host into artifacts/simulation/host (its intermediate files under
# artifacts/simulation/build, apart from the solution's build, and kept so the next run only redoes what changed); sets
# PUBLISHED_HOST_DLL.
fairway_publish_host() {
  local out="$FAIRWAY_ROOT/artifacts/simulation/host"
  echo "[build] dotnet publish Fairway.Host ${FAIRWAY_PUBLISH_ARGS[*]} -o ${out#"$FAIRWAY_ROOT"/}" >&2
  dotnet publish "$FAIRWAY_ROOT/src/Fairway.Host/Fairway.Host.csproj" "${FAIRWAY_PUBLISH_ARGS[@]}" -o "$out" \
    --artifacts-path "$FAIRWAY_ROOT/artifacts/simulation/build" -v quiet -nologo -clp:ErrorsOnly >&2
  PUBLISHED_HOST_DLL="$out/Fairway.Host.dll"
}

fairway_build() {
  echo "[build] dotnet build Fairway.sln -c $FAIRWAY_CONFIGURATION" >&2
  dotnet build "$FAIRWAY_ROOT/Fairway.sln" -c "$FAIRWAY_CONFIGURATION" -v quiet -nologo -clp:ErrorsOnly >&2
}
