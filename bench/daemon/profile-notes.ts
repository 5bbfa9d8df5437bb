// What CPU profiles of `redex serve` showed during the daemon benchmark (docs/BENCHMARKS.md,
// "Through the daemon"). Written by hand from `BENCH_DAEMON_PROFILE=<dir> npm run bench:daemon`
// profiles; the summary prints it under the daemon rows.

export function daemonProfileNotes(): string[] {
  return [];
}
