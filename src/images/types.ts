// The Docker Engine API's image shapes, as the image service returns them.
import type { ImageRunConfig } from '../lib/oci.js';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container?: string;
  ContainerConfig?: ImageRunConfig;
  DockerVersion: string;
  Author: string;
  Config: ImageRunConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime?: string };
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface DeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface PruneReport {
  ImagesDeleted: DeleteItem[] | null;
  SpaceReclaimed: number;
}

export interface ImageEvent {
  Action: 'tag' | 'untag' | 'delete' | 'import' | 'load' | 'save' | 'pull' | 'push';
  id: string;
  name?: string;
}

/** Filters as the API receives them: name -> values. */
export type Filters = Record<string, string[]>;

/** A line of Docker's JSON progress stream (pull, push). */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: unknown;
}
export type ProgressSink = (m: ProgressMessage) => void;
