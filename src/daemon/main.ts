// berthd entry point (placeholder until the daemon lands).
console.error('berthd: not built yet');
process.exit(1);
