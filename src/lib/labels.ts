// Label filters (`label=k` or `label=k=v`), shared by every list and event endpoint. Docker ANDs
// several label filters (docker-compose relies on it: project AND service), unlike other keys.

export function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** True when every filter matches (an empty list matches everything). */
export function matchAllLabels(labels: Record<string, string>, filters: string[] | undefined): boolean {
  return (filters ?? []).every((f) => matchLabel(labels, f));
}
