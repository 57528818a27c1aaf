// The daemon's event bus: subscribers get events as they happen; a bounded history serves
// `/events?since=`. Events carry Docker's shape.
export interface EngineEvent {
  Type: 'image' | 'container' | 'volume' | 'network' | 'daemon' | 'builder';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Older clients read these.
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY = 1024;

export class EventBus {
  private readonly history: EngineEvent[] = [];
  private readonly subscribers = new Set<(e: EngineEvent) => void>();

  publish(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const e: EngineEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(nowNs / 1_000_000_000n), timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      e.status = action;
      e.id = id;
      if (attributes['image']) e.from = attributes['image'];
    }
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    for (const s of this.subscribers) s(e);
    return e;
  }

  /** Past events since `sinceNs` (inclusive), then live ones, until unsubscribe. */
  subscribe(fn: (e: EngineEvent) => void, sinceNs?: number): () => void {
    if (sinceNs !== undefined) for (const e of this.history) if (e.timeNano >= sinceNs) fn(e);
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
