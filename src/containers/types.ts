// The Docker Engine API's container shapes, as far as berth fills them.
import type { ImageRunConfig } from '../lib/oci.js';
import type { MountPlan } from '../volumes/index.js';

export interface ContainerConfig extends ImageRunConfig {
  Hostname?: string;
  Domainname?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Image?: string;
  NetworkDisabled?: boolean;
  StopTimeout?: number;
  DetachKeys?: string;
}

export interface HostConfig {
  Binds?: string[] | null;
  NetworkMode?: string;
  AutoRemove?: boolean;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  PidsLimit?: number | null;
  RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  Init?: boolean | null;
  SecurityOpt?: string[] | null;
  Mounts?: import('../volumes/index.js').MountInput['Mounts'];
  Tmpfs?: Record<string, string> | null;
  [k: string]: unknown;
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** Image ID. */
  Image: string;
  State: ContainerState;
  RestartCount: number;
  /** berth's own bookkeeping. */
  snapshotKey: string;
  /** Stopped or killed by a user: restart policies leave it alone (until the next start). */
  manuallyStopped?: boolean;
  /** The container's volumes, binds and tmpfs mounts, planned at create. */
  mounts?: MountPlan[];
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
