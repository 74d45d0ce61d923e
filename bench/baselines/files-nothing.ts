// Benchmark baseline: a config-files Lambda uses no AWS client at all (it reads and writes
// its mounted volume), so its baseline is an empty handler.

export const handler = async () => ({});
