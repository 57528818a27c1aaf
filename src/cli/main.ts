// berth entry point (placeholder until the CLI lands).
console.error('berth: not built yet');
process.exit(1);
